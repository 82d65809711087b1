//! The crate graph of ARCHITECTURE.md is the workspace's: every direct dependency between
//! workspace crates (from `cargo metadata`) is listed in the document's graph block, and every
//! listed one exists. And `api` depends on no internal crate but `model`.

use std::collections::BTreeSet;

type Edges = BTreeSet<(String, String)>;

/// Direct normal (not dev, not build) dependencies between workspace members.
fn actual() -> Edges {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let packages = meta["packages"].as_array().expect("packages");
    let members: BTreeSet<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let mut edges = Edges::new();
    for p in packages {
        let from = p["name"].as_str().unwrap_or_default();
        for d in p["dependencies"].as_array().into_iter().flatten() {
            let name = d["name"].as_str().unwrap_or_default();
            if d["kind"].is_null() && members.contains(name) {
                edges.insert((from.to_string(), name.to_string()));
            }
        }
    }
    edges
}

/// The edges of ARCHITECTURE.md's first code block: `a, b ──► c, d ──► e; f ──► g`, each arrow
/// from every crate before it to every crate after it; `(…)` are comments.
fn documented() -> Edges {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let block = text.split("```").nth(1).expect("a graph block");
    let mut edges = Edges::new();
    for line in block.lines() {
        let line = line.replace("(bin)", "");
        // Comments in parentheses (they may contain commas and arrows of their own).
        let mut clean = String::new();
        let mut depth = 0;
        for ch in line.chars() {
            match ch {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ if depth == 0 => clean.push(ch),
                _ => {}
            }
        }
        for statement in clean.split(';') {
            let segments: Vec<Vec<String>> = statement
                .split('►')
                .map(|s| {
                    s.trim_end_matches('─')
                        .split(',')
                        .map(|n| n.trim().trim_matches('─').trim().to_string())
                        .filter(|n| !n.is_empty())
                        .collect()
                })
                .collect();
            for w in segments.windows(2) {
                for a in &w[0] {
                    for b in &w[1] {
                        edges.insert((a.clone(), b.clone()));
                    }
                }
            }
        }
    }
    edges
}

#[test]
fn architecture_graph_is_the_workspace_graph() {
    let (actual, documented) = (actual(), documented());
    let missing: Vec<_> = actual.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&actual).collect();
    assert!(missing.is_empty(), "dependencies ARCHITECTURE.md does not list (add them to its graph block): {missing:?}");
    assert!(stale.is_empty(), "edges ARCHITECTURE.md lists that the crates do not have: {stale:?}");
}

#[test]
fn api_depends_only_on_model() {
    let deps: Vec<String> = actual().into_iter().filter(|(a, _)| a == "api").map(|(_, b)| b).collect();
    assert_eq!(deps, ["model"], "api must depend on no internal crate but model");
}
