//! The API layer's own metrics: requests by action and code, latency per action. Recorded by the
//! envelope layer (which sees every request and its outcome); the binary registers them with the
//! store's scrape-time gauges and serves `GET /metrics` ([`encode`]).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
pub use prometheus_client::registry::Registry;

/// The OpenMetrics text content type `prometheus_client` encodes (Prometheus scrapes it).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    action: &'static str,
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabel {
    action: &'static str,
}

type LatencyFamily = Family<ActionLabel, Histogram, fn() -> Histogram>;

/// Cheap to clone (the families are shared).
#[derive(Clone)]
pub struct ApiMetrics {
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
}

impl Default for ApiMetrics {
    fn default() -> Self {
        ApiMetrics { requests: Family::default(), latency: Family::new_with_constructor(latency_histogram) }
    }
}

/// 0.25 ms to ~4 s: the API answers in well under a millisecond when warm.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

impl ApiMetrics {
    /// One answered request. `action` is `-` when the request never named a known action, `code`
    /// the TCSS error code or `Success`.
    pub fn observe(&self, action: &'static str, code: &'static str, seconds: f64) {
        self.requests.get_or_create(&RequestLabels { action, code }).inc();
        self.latency.get_or_create(&ActionLabel { action }).observe(seconds);
    }

    /// Adds these families to `registry` (which shares them: later requests show in it).
    pub fn register(&self, registry: &mut Registry) {
        registry.register("shipshape_api_requests", "TCSS API requests answered, by action and code", self.requests.clone());
        registry.register("shipshape_api_request_duration_seconds", "TCSS API request latency, by action", self.latency.clone());
    }
}

/// The registry as OpenMetrics text (ends with `# EOF`).
pub fn encode(registry: &Registry) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, registry);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_encodes() {
        let m = ApiMetrics::default();
        m.observe("DescribeX", "Success", 0.001);
        m.observe("DescribeX", "Success", 0.002);
        m.observe("DescribeX", "RequestLimitExceeded", 0.0001);
        let mut reg = Registry::default();
        m.register(&mut reg);
        let text = encode(&reg);
        assert!(text.contains(r#"shipshape_api_requests_total{action="DescribeX",code="Success"} 2"#), "{text}");
        assert!(text.contains(r#"shipshape_api_requests_total{action="DescribeX",code="RequestLimitExceeded"} 1"#), "{text}");
        assert!(text.contains(r#"shipshape_api_request_duration_seconds_count{action="DescribeX"} 3"#), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }
}
