//! What `GET /metrics` reads from the store at scrape time, for every account together: queue
//! depth and oldest age per durable queue, finished image scans by result with their durations,
//! stored findings by kind and severity, advisory data age, nodes online. Read from the store
//! rather than counted in memory because the work happens in other processes (`shipshape worker`,
//! agents) than the API replica that is scraped; every replica answers the same.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::images::{KindSummary, Summary};

/// A node counts as online when it reported within this many seconds (agents and the worker's
/// own collection report at their inventory period, 15 s by default).
pub const ONLINE_WITHIN_SECS: i64 = 300;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabel {
    queue: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FindingLabels {
    kind: &'static str,
    severity: &'static str,
}

type DurationFamily = Family<ResultLabel, Histogram, fn() -> Histogram>;

/// 1 s to ~68 min.
fn scan_histogram() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 2.0, 13))
}

/// Adds the store's current figures to `registry`; `now` in unix seconds.
pub async fn register_store_metrics(store: &store::Store, registry: &mut Registry, now: i64) -> Result<(), store::Error> {
    let depth = Family::<QueueLabel, Gauge>::default();
    let age = Family::<QueueLabel, Gauge>::default();
    for q in store.queue_stats().await? {
        let label = QueueLabel { queue: q.queue };
        depth.get_or_create(&label).set(i64::try_from(q.depth).unwrap_or(i64::MAX));
        age.get_or_create(&label).set(q.oldest_at.map_or(0, |t| (now - t).max(0)));
    }
    registry.register("shipshape_queue_depth", "Entries waiting or in progress per durable queue", depth);
    registry.register("shipshape_queue_oldest_age_seconds", "Age of the oldest entry per queue (0: empty)", age);

    // Finished image scans: a histogram per result, rebuilt from the queue table at each scrape
    // (monotonic while the queue rows are kept, as Prometheus expects of a counter).
    let scans = DurationFamily::new_with_constructor(scan_histogram);
    for s in store.finished_scans().await? {
        let h = scans.get_or_create(&ResultLabel { result: s.state });
        h.observe(s.seconds.unwrap_or(0).max(0) as f64);
    }
    registry.register(
        "shipshape_image_scans_duration_seconds",
        "Finished image scans by result (done, failed, cancelled) and duration",
        scans,
    );

    let findings = Family::<FindingLabels, Gauge>::default();
    for raw in store.all_result_summaries().await? {
        // A summary that does not parse (written by an older version) counts as no findings.
        let Ok(summary) = serde_json::from_str::<Summary>(&raw) else {
            continue;
        };
        for (kind, k) in [("vul", &summary.vul), ("virus", &summary.virus), ("risk", &summary.risk)] {
            let Some(k) = k else { continue };
            for (severity, n) in by_severity(k) {
                findings.get_or_create(&FindingLabels { kind, severity }).inc_by(i64::try_from(n).unwrap_or(i64::MAX));
            }
        }
    }
    registry.register("shipshape_findings", "Findings in the latest results of every image, by kind and severity", findings);

    let advisory_age = Gauge::<i64>::default();
    advisory_age.set(store.advisory_imported_at().await?.map_or(-1, |t| (now - t).max(0)));
    registry.register(
        "shipshape_advisory_data_age_seconds",
        "Seconds since the latest advisory import (-1: no advisory data)",
        advisory_age,
    );

    let online = Gauge::<i64>::default();
    online.set(i64::try_from(store.nodes_seen_since(now - ONLINE_WITHIN_SECS).await?).unwrap_or(i64::MAX));
    registry.register("shipshape_nodes_online", "Nodes (agents and the workers' own hosts) that reported in the last 5 minutes", online);
    Ok(())
}

/// The summary's counts per severity; what no severity covers is `unknown`.
fn by_severity(k: &KindSummary) -> [(&'static str, u64); 5] {
    let known = k.critical + k.high + k.medium + k.low;
    [("critical", k.critical), ("high", k.high), ("medium", k.medium), ("low", k.low), ("unknown", k.count.saturating_sub(known))]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn empty_store_encodes_every_family() {
        let dir = tempfile::tempdir().unwrap();
        let store = store::Store::open(dir.path(), None).await.unwrap();
        let mut reg = Registry::default();
        register_store_metrics(&store, &mut reg, 1_000).await.unwrap();
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &reg).unwrap();
        for line in [
            r#"shipshape_queue_depth{queue="image_scan"} 0"#,
            r#"shipshape_queue_oldest_age_seconds{queue="registry_refresh"} 0"#,
            "shipshape_advisory_data_age_seconds -1",
            "shipshape_nodes_online 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }

    #[test]
    fn unknown_severity_is_the_rest() {
        let k = KindSummary { count: 7, critical: 1, high: 2, medium: 0, low: 1, ..Default::default() };
        assert_eq!(by_severity(&k)[4], ("unknown", 3));
    }
}
