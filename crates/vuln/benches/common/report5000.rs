// Shared by benches/vuln.rs and examples/import_timing.rs (included with `include!`).
/// `named` packages that advisories name (at a version at the edge of a range: the first
/// `fixed`/`last_affected` event) and the rest up to 5,000 that no advisory names.
pub fn report(sources: &[import::ParsedSource], named: usize) -> Vec<Package> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    'outer: for s in sources {
        for a in &s.advisories {
            for aff in &a.affected {
                let eco = match aff.ecosystem.as_str() {
                    "PyPI" => Ecosystem::PyPI,
                    "npm" => Ecosystem::Npm,
                    "Go" => Ecosystem::Go,
                    "crates.io" => Ecosystem::CratesIo,
                    "Maven" => Ecosystem::Maven,
                    "Debian:12" => Ecosystem::Debian,
                    _ => continue,
                };
                if !seen.insert((aff.ecosystem.clone(), aff.name.clone())) {
                    continue;
                }
                let version = aff
                    .ranges
                    .iter()
                    .flat_map(|r| r.events.iter())
                    .find_map(|e| match e {
                        Event::Fixed(v) | Event::LastAffected(v) => Some(v.clone()),
                        _ => None,
                    })
                    .unwrap_or_else(|| "1.0.0".into());
                out.push(pkg(eco, &aff.name, &version));
                if out.len() == named {
                    break 'outer;
                }
            }
        }
    }
    for i in 0..5000 - out.len() {
        out.push(pkg(if i % 2 == 0 { Ecosystem::Npm } else { Ecosystem::PyPI }, &format!("unlisted-{i}"), "1.2.3"));
    }
    out
}

fn pkg(eco: Ecosystem, name: &str, version: &str) -> Package {
    Package {
        ecosystem: eco,
        name: name.into(),
        version: version.into(),
        source_name: eco.is_os().then(|| name.to_owned()),
        source_version: eco.is_os().then(|| version.to_owned()),
        purl: String::new(),
        licenses: vec![],
        location: Location::default(),
    }
}

