//! Package analyzers: each unit turns the files it asks for into [`model::Package`]s or a
//! [`model::Distribution`].
//!
//! Every unit is one module folder implementing [`layer::Analyzer`]; [`builtin`] lists them.
//! Nothing here reads images, layers or the network: the `layer` walker hands each wanted
//! file's bytes to the analyzers once. After the layers are merged, [`finalize`] settles what
//! only the whole image knows (the distribution in OS purls, lock-file duplicates).

mod apk;
mod cargo;
mod dpkg;
mod golang;
mod java;
mod npm;
mod os;
mod python;
mod rpm;
mod ruby;
mod util;

pub use apk::Apk;
pub use cargo::Cargo;
pub use dpkg::Dpkg;
pub use golang::GoBinary;
pub use java::Java;
pub use npm::Npm;
pub use os::OsRelease;
pub use python::{Python, normalize_name as pypi_normalize};
pub use rpm::Rpm;
pub use ruby::Ruby;

/// Parsers exposed for fuzzing and property tests; not a stable API.
#[doc(hidden)]
pub mod parsers {
    pub use crate::apk::parse_installed;
    pub use crate::dpkg::parse_status;
    pub use crate::golang::{BuildInfo, parse_build_info};
    pub use crate::java::read_archive;
    pub use crate::npm::{parse_package_json, parse_package_lock};
    pub use crate::python::parse_metadata;
    pub use crate::rpm::{parse_bdb, parse_header_blob, parse_ndb, parse_sqlite};
}

use layer::Analyzer;
use model::{Distribution, Ecosystem, Package};

/// The built-in package analyzers, one line each, alphabetical.
pub fn builtin() -> Vec<Box<dyn Analyzer>> {
    vec![
        Box::new(Apk),
        Box::new(Cargo),
        Box::new(Dpkg),
        Box::new(GoBinary),
        Box::new(Java),
        Box::new(Npm),
        Box::new(OsRelease),
        Box::new(Python),
        Box::new(Rpm),
        Box::new(Ruby),
    ]
}

/// Settles a merged package list for one image: OS purls get the distribution as namespace and
/// `distro=<id>-<version_id>` qualifier (the dpkg/apk/rpm analyzers cannot know it per file),
/// packages read from a lock file are dropped where the same package was found installed
/// (`node_modules/*/package.json`, a cargo-auditable binary), exact duplicates are removed,
/// and the list is sorted by ecosystem, name, version, path.
pub fn finalize(mut packages: Vec<Package>, distribution: Option<&Distribution>) -> Vec<Package> {
    if let Some(d) = distribution {
        for p in packages.iter_mut().filter(|p| p.ecosystem.is_os()) {
            p.purl = util::qualify_os_purl(&p.purl, d);
        }
    }
    let installed: std::collections::HashSet<(Ecosystem, String, String)> = packages
        .iter()
        .filter(|p| !util::is_lock_file(&p.location.path))
        .map(|p| (p.ecosystem, p.name.clone(), p.version.clone()))
        .collect();
    packages.retain(|p| !util::is_lock_file(&p.location.path) || !installed.contains(&(p.ecosystem, p.name.clone(), p.version.clone())));
    packages.sort_by(|a, b| {
        (a.ecosystem, &a.name, &a.version, &a.location.path, a.location.layer_index).cmp(&(
            b.ecosystem,
            &b.name,
            &b.version,
            &b.location.path,
            b.location.layer_index,
        ))
    });
    packages.dedup();
    packages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_names_and_versions() {
        let set = layer::AnalyzerSet::new(builtin()).expect("unique names");
        let names: Vec<_> = set.analyzers().iter().map(|a| a.name()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "builtin() is alphabetical");
        let versions: Vec<String> = set.versions().iter().map(|(n, v)| format!("{n}={v}")).collect();
        assert_eq!(versions.join(" "), "apk=1 cargo=1 dpkg=1 go-binary=1 java=1 npm=1 os-release=1 python=1 rpm=1 ruby=1");
    }
}
