//! Go modules from `go.mod` (`require` after `replace`) and, for old modules, `go.sum`.
//!
//! Hand-written: go.mod is a small line format (`directive args`, `directive ( ... )` blocks,
//! `//` comments) with no maintained Rust parser. Local-path replacements (`=> ../x`) are the
//! project's own code and drop the module; `exclude` and `retract` do not change what is built.
//!
//! `go.sum` lists every module version the build ever checksummed, including ones the module
//! graph pruned: its packages are kept only where no go.mod sits beside it (modules from before
//! Go 1.17 list no indirect requirements in go.mod; Trivy falls back to go.sum the same way).
//! [`crate::finalize`] applies that rule, since an analyzer sees one file at a time. Of several
//! versions of one module in a go.sum the last (go.sum is sorted, so the newest) is kept.

use super::go_package;
use crate::util;
use layer::{AnalyzeError, Analyzer, FileInput, FileMeta, LayerFindings};
use model::Package;
use std::collections::BTreeMap;

pub struct GoMod;

impl Analyzer for GoMod {
    fn name(&self) -> &'static str {
        "gomod"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str, _meta: &FileMeta) -> bool {
        matches!(util::basename(path), "go.mod" | "go.sum") && !path.split('/').any(|c| c == "vendor")
    }
    fn analyze(&self, file: &FileInput<'_>, out: &mut LayerFindings) -> Result<(), AnalyzeError> {
        let text = String::from_utf8_lossy(file.data);
        let found = if util::basename(file.path) == "go.mod" { parse_go_mod(&text) } else { parse_go_sum(&text) };
        util::push_located(found, file, out);
        Ok(())
    }
}

/// One token: unquotes `"path"` (go.mod allows quoted paths).
fn tok(s: &str) -> &str {
    s.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(s)
}

fn is_local(path: &str) -> bool {
    path.starts_with("./") || path.starts_with("../") || path.starts_with('/') || path == "." || path == ".."
}

/// `replace` (old path, old version or "") → Some((new path, new version)), or None for a local path.
type Replace = (String, String, Option<(String, String)>);

/// The required modules after replacements, sorted by path.
pub fn parse_go_mod(text: &str) -> Vec<Package> {
    let mut requires: Vec<(String, String)> = Vec::new();
    let mut replaces: Vec<Replace> = Vec::new();
    let mut block: Option<String> = None;
    for raw in text.lines() {
        let line = raw.split("//").next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let (directive, args) = match &block {
            Some(_) if line == ")" => {
                block = None;
                continue;
            }
            Some(d) => (d.clone(), line),
            None => {
                let (d, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
                let rest = rest.trim();
                if rest == "(" {
                    block = Some(d.to_string());
                    continue;
                }
                (d.to_string(), rest)
            }
        };
        match directive.as_str() {
            "require" => {
                let mut f = args.split_whitespace();
                if let (Some(p), Some(v)) = (f.next(), f.next()) {
                    requires.push((tok(p).to_string(), tok(v).to_string()));
                }
            }
            "replace" => {
                let Some((old, new)) = args.split_once("=>") else { continue };
                let mut o = old.split_whitespace();
                let mut n = new.split_whitespace();
                let (Some(op), Some(np)) = (o.next(), n.next()) else { continue };
                let (op, np) = (tok(op), tok(np));
                let target = if is_local(np) { None } else { n.next().map(|v| (np.to_string(), tok(v).to_string())) };
                if target.is_some() || is_local(np) {
                    replaces.push((op.to_string(), o.next().map(tok).unwrap_or("").to_string(), target));
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (path, version) in requires {
        // A version-specific replacement wins over a path-wide one; the last of each kind wins.
        let rep = replaces
            .iter()
            .rev()
            .find(|r| r.0 == path && r.1 == version)
            .or_else(|| replaces.iter().rev().find(|r| r.0 == path && r.1.is_empty()));
        match rep {
            Some((_, _, None)) => {}
            Some((_, _, Some((np, nv)))) => out.push(go_package(np, nv)),
            None => out.push(go_package(&path, &version)),
        }
    }
    out.retain(|p| !p.name.is_empty() && !p.version.is_empty());
    out.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    out.dedup();
    out
}

/// The modules of a go.sum, one version each (the file's last), sorted by path.
pub fn parse_go_sum(text: &str) -> Vec<Package> {
    let mut last: BTreeMap<&str, &str> = BTreeMap::new();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let (Some(path), Some(version), Some(_hash)) = (f.next(), f.next(), f.next()) else { continue };
        let version = version.strip_suffix("/go.mod").unwrap_or(version);
        if version.starts_with('v') {
            last.insert(path, version);
        }
    }
    last.into_iter().map(|(p, v)| go_package(p, v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::testing::{meta, run, testdata};
    use proptest::prelude::*;

    fn got(p: &[Package]) -> Vec<String> {
        p.iter().map(|p| format!("{}@{} {}", p.name, p.version, p.purl)).collect()
    }

    #[test]
    fn go_mod_with_replacements() {
        let out = run(&GoMod, "cmd/api/go.mod", &testdata("golang/go.mod"));
        assert_eq!(
            got(&out.packages),
            vec![
                "github.com/gin-gonic/gin@v1.7.0 pkg:golang/github.com/gin-gonic/gin@v1.7.0",
                "github.com/pkg/errors@v0.9.1 pkg:golang/github.com/pkg/errors@v0.9.1",
                "golang.org/x/crypto@v0.0.0-20200622213623-75b288015ac9 pkg:golang/golang.org/x/crypto@v0.0.0-20200622213623-75b288015ac9",
                "golang.org/x/net@v0.7.0 pkg:golang/golang.org/x/net@v0.7.0",
                "golang.org/x/text@v0.3.2 pkg:golang/golang.org/x/text@v0.3.2",
                "gopkg.in/yaml.v2@v2.2.2 pkg:golang/gopkg.in/yaml.v2@v2.2.2",
            ]
        );
        assert!(!GoMod.wants("vendor/github.com/x/go.mod", &meta(1)));
    }

    #[test]
    fn go_sum_last_version_per_module() {
        let out = run(&GoMod, "legacy/go.sum", &testdata("golang/go.sum"));
        assert_eq!(
            got(&out.packages),
            vec![
                "github.com/davecgh/go-spew@v1.1.1 pkg:golang/github.com/davecgh/go-spew@v1.1.1",
                "github.com/gorilla/websocket@v1.4.0 pkg:golang/github.com/gorilla/websocket@v1.4.0",
                "golang.org/x/text@v0.3.0 pkg:golang/golang.org/x/text@v0.3.0",
            ]
        );
    }

    proptest! {
        #[test]
        fn never_panics(s in "(\\PC|\n|\\(|\\)|=>|//|\"| ){0,300}") {
            let _ = parse_go_mod(&s);
            let _ = parse_go_mod(&format!("require (\n{s}\n)\nreplace {s} => {s}\n"));
            let _ = parse_go_sum(&s);
        }
    }
}
