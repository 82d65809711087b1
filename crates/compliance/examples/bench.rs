//! Compliance benchmark: discover every Docker container (inspect + facts) and evaluate the full catalog on
//! each. Prints total time, per-asset evaluation time and peak RSS. Driven by bench/compliance.sh.
//!
//! usage: bench [docker-endpoint]

use std::time::Instant;

use compliance::{AssetType, Catalog, Engine, Sources, discover};

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let endpoint = std::env::args().nth(1).unwrap_or_else(|| "unix:///var/run/docker.sock".into());
    let t0 = Instant::now();
    let catalog = Catalog::builtin();
    let engine = Engine::new(&catalog).expect("policies compile");
    let compile = t0.elapsed();
    let sources = Sources { docker: Some(endpoint), asset_types: Some(vec![AssetType::Container, AssetType::Host]), ..Sources::default() };
    let t1 = Instant::now();
    let inv = discover(&sources).await;
    let collect = t1.elapsed();
    let containers: Vec<_> = inv.assets.iter().filter(|a| a.asset_type == AssetType::Container).collect();
    let t2 = Instant::now();
    // Evaluation is CPU-bound: spread the assets over the cores, one engine clone per asset.
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let chunk = containers.len().div_ceil(threads).max(1);
    let (mut results, mut na, mut failed) = (0usize, 0usize, 0usize);
    let mut per_asset: Vec<f64> = Vec::new();
    std::thread::scope(|s| {
        let handles: Vec<_> = containers
            .chunks(chunk)
            .map(|part| {
                let engine = &engine;
                s.spawn(move || {
                    let mut out = (0usize, 0usize, 0usize, Vec::new());
                    for a in part {
                        let t = Instant::now();
                        let ev = engine.evaluate(a, None);
                        out.3.push(t.elapsed().as_secs_f64() * 1000.0);
                        out.0 += ev.results.len();
                        out.1 += ev.not_applicable.len();
                        out.2 += ev.results.iter().filter(|r| r.status == compliance::CheckStatus::Failed).count();
                    }
                    out
                })
            })
            .collect();
        for h in handles {
            let (r, n, f, t) = h.join().expect("worker");
            results += r;
            na += n;
            failed += f;
            per_asset.extend(t);
        }
    });
    let eval = t2.elapsed();
    per_asset.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| per_asset.get(((per_asset.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(0.0);
    println!("containers:            {}", containers.len());
    println!("source errors:         {:?}", inv.errors);
    println!("policy compile:        {:.1} ms", compile.as_secs_f64() * 1000.0);
    println!("discover+collect:      {:.2} s", collect.as_secs_f64());
    println!("evaluate (27 items):   {:.2} s on {threads} threads", eval.as_secs_f64());
    println!("per-asset eval:        p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms", pct(0.5), pct(0.95), pct(1.0));
    println!("results:               {results} ({failed} CHECK_FAILED), not applicable: {na}");
    println!("total:                 {:.2} s", t0.elapsed().as_secs_f64());
    println!("peak RSS:              {} MiB", peak_rss_kib() / 1024);
}
