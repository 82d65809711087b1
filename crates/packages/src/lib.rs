//! Package analyzers: each unit turns the files it asks for into [`model::Package`]s or a
//! [`model::Distribution`].
//!
//! Every unit is one module (an ecosystem's folder, or a file inside it for each lock file kind)
//! implementing [`layer::Analyzer`]; [`builtin`] lists those image scans run, [`source_tree`]
//! those `fs scan` runs (the same, plus the lock files that only describe a source tree).
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
pub use golang::{GoBinary, GoMod};
pub use java::{Java, Pom};
pub use npm::{Npm, Pnpm, Yarn};
pub use os::OsRelease;
pub use python::{Pipenv, Poetry, Python, Requirements, normalize_name as pypi_normalize};
pub use rpm::Rpm;
pub use ruby::{GemfileLock, Ruby};

/// Parsers exposed for fuzzing and property tests; not a stable API.
#[doc(hidden)]
pub mod parsers {
    pub use crate::apk::parse_installed;
    pub use crate::dpkg::parse_status;
    pub use crate::golang::{BuildInfo, parse_build_info, parse_go_mod, parse_go_sum};
    pub use crate::java::{parse_pom, read_archive};
    pub use crate::npm::{parse_package_json, parse_package_lock, parse_pnpm_lock, parse_yarn_lock};
    pub use crate::python::{parse_metadata, parse_pipfile_lock, parse_poetry_lock, parse_requirements};
    pub use crate::rpm::{parse_bdb, parse_header_blob, parse_ndb, parse_sqlite};
    pub use crate::ruby::parse_gemfile_lock;
}

use layer::{AnalyzeError, Analyzer, FileInput, FileMeta, LayerFindings};
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

/// The analyzers of a source tree (`fs scan`), alphabetical: [`builtin`] with execute bits
/// hidden from it, plus the lock files that only describe a source tree (yarn, pnpm, Poetry,
/// Pipenv, requirements*.txt, go.mod/go.sum, Gemfile.lock, pom.xml). As in Trivy, image scans
/// do not read those (what an image runs is what is installed in it), and source-tree scans do
/// not read binaries for cargo-auditable or Go build info: in a checkout they are build output
/// (`target/`, `bin/`), and reading every executable of a build tree would cost far more than
/// the lock files that describe them.
pub fn source_tree() -> Vec<Box<dyn Analyzer>> {
    let mut list: Vec<Box<dyn Analyzer>> = builtin().into_iter().map(|a| Box::new(NoExecutables(a)) as Box<dyn Analyzer>).collect();
    list.extend([
        Box::new(GemfileLock) as Box<dyn Analyzer>,
        Box::new(GoMod),
        Box::new(Pipenv),
        Box::new(Pnpm),
        Box::new(Pom),
        Box::new(Poetry),
        Box::new(Requirements),
        Box::new(Yarn),
    ]);
    list.sort_by_key(|a| a.name());
    list
}

/// An analyzer that is shown every file as if no execute bit were set.
struct NoExecutables(Box<dyn Analyzer>);

impl Analyzer for NoExecutables {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn version(&self) -> u32 {
        self.0.version()
    }
    fn wants(&self, path: &str, meta: &FileMeta) -> bool {
        self.0.wants(path, &FileMeta { mode: meta.mode & !0o111, ..*meta })
    }
    fn analyze(&self, file: &FileInput<'_>, out: &mut LayerFindings) -> Result<(), AnalyzeError> {
        self.0.analyze(&FileInput { meta: FileMeta { mode: file.meta.mode & !0o111, ..file.meta }, ..*file }, out)
    }
}

/// Settles a merged package list for one image: OS purls get the distribution as namespace and
/// `distro=<id>-<version_id>` qualifier (the dpkg/apk/rpm analyzers cannot know it per file),
/// packages read from a lock file are dropped where the same package was found installed
/// (`node_modules/*/package.json`, a cargo-auditable binary), exact duplicates are removed,
/// a `go.sum`'s modules are dropped where a `go.mod` beside it gave modules (see
/// [`GoMod`]), and the list is sorted by ecosystem, name, version, path.
pub fn finalize(mut packages: Vec<Package>, distribution: Option<&Distribution>) -> Vec<Package> {
    if let Some(d) = distribution {
        for p in packages.iter_mut().filter(|p| p.ecosystem.is_os()) {
            p.purl = util::qualify_os_purl(&p.purl, d);
        }
    }
    let dir = |path: &str| path.rsplit_once('/').map_or("", |(d, _)| d).to_string();
    let go_mod_dirs: std::collections::HashSet<String> =
        packages.iter().filter(|p| util::basename(&p.location.path) == "go.mod").map(|p| dir(&p.location.path)).collect();
    if !go_mod_dirs.is_empty() {
        packages.retain(|p| util::basename(&p.location.path) != "go.sum" || !go_mod_dirs.contains(&dir(&p.location.path)));
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

    #[test]
    fn source_tree_names_and_versions() {
        let set = layer::AnalyzerSet::new(source_tree()).expect("unique names");
        let names: Vec<_> = set.analyzers().iter().map(|a| a.name()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "source_tree() is alphabetical");
        let versions: Vec<String> = set.versions().iter().map(|(n, v)| format!("{n}={v}")).collect();
        assert_eq!(
            versions.join(" "),
            "apk=1 bundler=1 cargo=1 dpkg=1 go-binary=1 gomod=1 java=1 npm=1 os-release=1 pip-requirements=1 pipenv=1 pnpm=1 \
             poetry=1 pom=1 python=1 rpm=1 ruby=1 yarn=1"
        );
        // Image scans keep their analyzers: none of the source-tree lock files is read there.
        let image = layer::AnalyzerSet::new(builtin()).expect("unique");
        let m = util::testing::meta(100);
        for f in [
            "yarn.lock",
            "pnpm-lock.yaml",
            "poetry.lock",
            "Pipfile.lock",
            "requirements.txt",
            "go.mod",
            "go.sum",
            "Gemfile.lock",
            "pom.xml",
        ] {
            assert!(!image.analyzers().iter().any(|a| a.wants(f, &m)), "{f}");
            assert!(set.analyzers().iter().any(|a| a.wants(f, &m)), "{f}");
        }
        // ...and source trees read no executables.
        let exe = layer::FileMeta { mode: 0o755, ..util::testing::meta(1 << 20) };
        assert!(!set.analyzers().iter().any(|a| a.wants("target/release/app", &exe)));
        assert!(set.analyzers().iter().any(|a| a.wants("Cargo.lock", &exe)), "an executable lock file is still a lock file");
    }

    #[test]
    fn go_sum_only_without_go_mod_beside_it() {
        let at = |path: &str, name: &str| {
            let mut p = golang::go_package(name, "v1.0.0");
            p.location = model::Location { path: path.into(), ..Default::default() };
            p
        };
        let got = finalize(vec![at("/a/go.mod", "x"), at("/a/go.sum", "y"), at("/b/go.sum", "z"), at("/go.sum", "w")], None);
        let names: Vec<_> = got.iter().map(|p| format!("{}{}", p.location.path, p.name)).collect();
        assert_eq!(names, vec!["/go.sumw", "/a/go.modx", "/b/go.sumz"]);
    }
}
