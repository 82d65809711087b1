//! Maven dependencies declared in a `pom.xml` (read with `roxmltree`; DTDs refused, node count
//! bounded).
//!
//! Only what the file itself says: a dependency's version written in it, through `${...}`
//! properties of the same pom (`<properties>`, `project.*`, `project.parent.*`), or from the
//! same pom's `<dependencyManagement>`. No parent pom, BOM import or remote repository is
//! looked up (no network, and a parent may not be in the tree): a dependency whose version
//! comes from one of those, or is a range, is skipped. `test`-scoped dependencies are left out,
//! as Trivy does: they are not part of what ships.

use super::maven_package;
use crate::util;
use layer::{AnalyzeError, Analyzer, FileInput, FileMeta, LayerFindings};
use model::Package;
use roxmltree::Node;
use std::collections::HashMap;

pub struct Pom;

/// Elements in one pom.xml; far above any real pom, low enough to bound memory.
const MAX_NODES: u32 = 1_000_000;
/// A resolved value longer than this is a property expansion gone wrong.
const MAX_VALUE: usize = 1024;

impl Analyzer for Pom {
    fn name(&self) -> &'static str {
        "pom"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str, _meta: &FileMeta) -> bool {
        util::basename(path) == "pom.xml"
    }
    fn analyze(&self, file: &FileInput<'_>, out: &mut LayerFindings) -> Result<(), AnalyzeError> {
        let text = std::str::from_utf8(file.data).map_err(|e| AnalyzeError::Malformed {
            path: file.path.into(),
            format: "pom.xml",
            reason: e.to_string(),
        })?;
        let found = parse_pom(text).map_err(|reason| AnalyzeError::Malformed { path: file.path.into(), format: "pom.xml", reason })?;
        util::push_located(found, file, out);
        Ok(())
    }
}

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children().find(|c| c.is_element() && c.tag_name().name() == name)
}

fn text<'a>(n: Node<'a, '_>, name: &str) -> Option<&'a str> {
    child(n, name).and_then(|c| c.text()).map(str::trim).filter(|t| !t.is_empty())
}

/// `${name}` substituted from `props`, a bounded number of times; `None` when something
/// remains unresolved.
fn resolve(value: &str, props: &HashMap<String, String>) -> Option<String> {
    let mut v = value.to_string();
    for _ in 0..8 {
        let Some(start) = v.find("${") else { return Some(v) };
        let end = start + v[start..].find('}')?;
        let key = &v[start + 2..end];
        let sub = props.get(key)?;
        v = format!("{}{sub}{}", &v[..start], &v[end + 1..]);
        if v.len() > MAX_VALUE {
            return None;
        }
    }
    (!v.contains("${")).then_some(v)
}

/// The dependencies a pom declares with a version it states itself.
pub fn parse_pom(xml: &str) -> Result<Vec<Package>, String> {
    let opts = roxmltree::ParsingOptions { allow_dtd: false, nodes_limit: MAX_NODES, ..Default::default() };
    let doc = roxmltree::Document::parse_with_options(xml, opts).map_err(|e| e.to_string())?;
    let project = doc.root_element();
    if project.tag_name().name() != "project" {
        return Err(format!("root element is <{}>, not <project>", project.tag_name().name()));
    }
    let mut props: HashMap<String, String> = HashMap::new();
    if let Some(ps) = child(project, "properties") {
        for p in ps.children().filter(Node::is_element) {
            props.insert(p.tag_name().name().to_string(), p.text().unwrap_or("").trim().to_string());
        }
    }
    let parent = child(project, "parent");
    for (key, own, from_parent) in [
        ("version", text(project, "version"), parent.and_then(|p| text(p, "version"))),
        ("groupId", text(project, "groupId"), parent.and_then(|p| text(p, "groupId"))),
    ] {
        if let Some(v) = own.or(from_parent) {
            props.insert(format!("project.{key}"), v.to_string());
            props.insert(format!("pom.{key}"), v.to_string());
        }
        if let Some(v) = from_parent {
            props.insert(format!("project.parent.{key}"), v.to_string());
        }
    }
    if let Some(a) = text(project, "artifactId") {
        props.insert("project.artifactId".into(), a.to_string());
    }

    let mut managed: HashMap<(String, String), String> = HashMap::new();
    if let Some(deps) = child(project, "dependencyManagement").and_then(|m| child(m, "dependencies")) {
        for d in deps.children().filter(|c| c.is_element() && c.tag_name().name() == "dependency") {
            let get = |k: &str| text(d, k).and_then(|v| resolve(v, &props));
            if let (Some(g), Some(a), Some(v)) = (get("groupId"), get("artifactId"), get("version")) {
                managed.insert((g, a), v);
            }
        }
    }

    let mut out = Vec::new();
    let Some(deps) = child(project, "dependencies") else { return Ok(out) };
    for d in deps.children().filter(|c| c.is_element() && c.tag_name().name() == "dependency") {
        let get = |k: &str| text(d, k).and_then(|v| resolve(v, &props));
        if get("scope").as_deref() == Some("test") {
            continue;
        }
        let (Some(g), Some(a)) = (get("groupId"), get("artifactId")) else { continue };
        let version = match text(d, "version") {
            Some(v) => resolve(v, &props),
            None => managed.get(&(g.clone(), a.clone())).cloned(),
        };
        let Some(version) = version.filter(|v| !v.is_empty() && !v.starts_with(['[', '('])) else { continue };
        out.push(maven_package(&g, &a, &version));
    }
    out.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::testing::{run, testdata};
    use proptest::prelude::*;

    #[test]
    fn explicit_and_property_versions() {
        let out = run(&Pom, "services/orders/pom.xml", &testdata("java/pom/pom.xml"));
        let got: Vec<_> = out.packages.iter().map(|p| format!("{}@{} {}", p.name, p.version, p.purl)).collect();
        assert_eq!(
            got,
            vec![
                "com.example.shop:shop-common@1.4.0 pkg:maven/com.example.shop/shop-common@1.4.0",
                "org.apache.commons:commons-text@1.9 pkg:maven/org.apache.commons/commons-text@1.9",
                "org.apache.logging.log4j:log4j-api@2.14.1 pkg:maven/org.apache.logging.log4j/log4j-api@2.14.1",
                "org.apache.logging.log4j:log4j-core@2.14.1 pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
                "org.springframework:spring-beans@5.3.17 pkg:maven/org.springframework/spring-beans@5.3.17",
            ]
        );
    }

    #[test]
    fn hostile_xml_is_refused() {
        let bomb =
            r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><project>&lol2;</project>"#;
        assert!(parse_pom(bomb).is_err());
        assert!(parse_pom("<settings/>").is_err());
        let looped = "<project><properties><a>${b}</a><b>${a}</b></properties><dependencies><dependency><groupId>g</groupId><artifactId>x</artifactId><version>${a}</version></dependency></dependencies></project>";
        assert_eq!(parse_pom(looped), Ok(vec![]));
        let growing = "<project><properties><a>${a}${a}</a></properties><dependencies><dependency><groupId>g</groupId><artifactId>x</artifactId><version>${a}</version></dependency></dependencies></project>";
        assert_eq!(parse_pom(growing), Ok(vec![]));
    }

    proptest! {
        #[test]
        fn never_panics(s in "(\\PC|<|>|/|\\$|\\{|\\}){0,300}") {
            let _ = parse_pom(&s);
            let doc = format!("<project><properties><p>{s}</p></properties><dependencies><dependency><groupId>g</groupId><artifactId>a</artifactId><version>{s}${{p}}</version></dependency></dependencies></project>");
            let _ = parse_pom(&doc);
        }
    }
}
