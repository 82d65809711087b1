//! Times the re-match of N stored images after an advisory update (what `serve` does when
//! `db update` / `db import` changes the data): no image is read, each image's stored content
//! report is matched again and its findings replaced.
//!
//! usage: rematch_timing VULNDATA_DIR [IMAGES=1000] [DATABASE_URL]
//! The images: Debian 12 with one package per source named in VULNDATA/osv/Debian (all below
//! every fix) plus 60 PyPI packages, each image's versions varied so no two are identical.

use std::path::PathBuf;
use std::time::Instant;

use model::{Distribution, Ecosystem, Location, Package};
use scan::results::{FindingKind, ImageSummary, KindSummary, StoredContent};
use store::scan_tasks::{ImageAsset, ImageScanOutcome, NewImageScanTask};

fn names(dir: &std::path::Path, limit: usize) -> Vec<String> {
    let mut out = std::collections::BTreeSet::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("advisory dir").filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let Ok(text) = std::fs::read_to_string(e.path()) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        for a in v["affected"].as_array().into_iter().flatten() {
            if let Some(n) = a["package"]["name"].as_str() {
                out.insert(n.to_owned());
            }
        }
        if out.len() >= limit {
            break;
        }
    }
    out.into_iter().take(limit).collect()
}

fn package(eco: Ecosystem, name: &str, version: &str) -> Package {
    Package {
        ecosystem: eco,
        name: name.into(),
        version: version.into(),
        source_name: eco.is_os().then(|| name.into()),
        source_version: eco.is_os().then(|| version.into()),
        purl: format!("pkg:{}/{name}@{version}", eco.purl_type()),
        licenses: vec![],
        location: Location { path: "/var/lib/dpkg/status".into(), layer_index: 0, layer_digest: "sha256:00".into() },
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let data = PathBuf::from(args.next().expect("usage: rematch_timing VULNDATA_DIR [IMAGES] [DATABASE_URL]"));
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1000);
    let url = args.next();
    let tmp = tempfile::tempdir()?;
    let store = store::Store::open(tmp.path(), url.as_deref()).await?;
    let debian = names(&data.join("osv/Debian"), 200);
    let pypi = names(&data.join("osv/PyPI"), 60);

    // Seed: n images scanned under an old data version, through the task path a real scan takes.
    let account = store.create_account().await?.app_id;
    let assets: Vec<ImageAsset> = (0..n)
        .map(|i| ImageAsset {
            facts: model::node::ImageFacts {
                image_id: format!("sha256:{i:064x}"),
                names: vec![format!("bench/img:{i}")],
                ..Default::default()
            },
            ..Default::default()
        })
        .collect();
    store.sync_image_assets(account, "docker", &assets).await?;
    let task =
        NewImageScanTask { scan_vul: true, images: assets.iter().map(|a| (a.facts.image_id.clone(), 0)).collect(), ..Default::default() };
    store.create_image_scan_task(account, &task).await?;
    let dist = Distribution { id: "debian".into(), version_id: "12".into(), codename: "bookworm".into(), pretty_name: "Debian 12".into() };
    let t = Instant::now();
    for i in 0..n {
        let claim = store.claim_image_scan("bench", 0).await?.expect("a queued image");
        let mut packages: Vec<Package> = debian.iter().map(|s| package(Ecosystem::Debian, s, &format!("0.{}-1", i % 7))).collect();
        packages.extend(pypi.iter().map(|p| package(Ecosystem::PyPI, p, &format!("0.0.{}", i % 5))));
        let content = StoredContent { distribution: Some(dist.clone()), packages };
        let mut vul = KindSummary::of(std::iter::empty(), 0);
        vul.data_version = "old".into();
        let summary = ImageSummary {
            os_name: "Debian 12".into(),
            component_cnt: content.packages.len() as u64,
            vul: Some(vul),
            ..Default::default()
        };
        let outcome = ImageScanOutcome {
            summary: serde_json::to_string(&summary)?,
            kinds: vec![FindingKind::Content],
            findings: vec![(FindingKind::Content, serde_json::to_string(&content)?)],
            risk_count: 0,
        };
        store.finish_image_scan(&claim, "bench", Some(&outcome), None).await?;
    }
    eprintln!("seeded {n} images in {:.1} s", t.elapsed().as_secs_f64());
    store.import_advisories(&data).await?;
    let version = store.advisory_data_version().await?;

    let t = Instant::now();
    let done = scan::worker::rematch_stored(&store, &version).await?;
    let secs = t.elapsed().as_secs_f64();
    let findings: usize = store.image_findings(account, &assets[0].facts.image_id, FindingKind::Vul).await?.len();
    println!(
        "re-matched {done} images ({} packages, {findings} findings each) in {secs:.2} s: {:.1} ms per image",
        debian.len() + pypi.len(),
        secs * 1000.0 / done.max(1) as f64
    );
    Ok(())
}
