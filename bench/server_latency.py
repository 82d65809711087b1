"""Reads OpenMetrics text (a server's /metrics) on stdin and prints the p50/p99 of one action's
latency histogram (shipshape_api_request_duration_seconds): the time the request spent inside the
API layers, without the socket queues and the client's own scheduling that wrk's figures include.
A histogram gives an upper bound: the first bucket holding the quantile.
usage: curl -s HOST/metrics | server_latency.py ACTION"""
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families

action = sys.argv[1]
buckets = []
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        if s.name == "shipshape_api_request_duration_seconds_bucket" and s.labels.get("action") == action:
            buckets.append((float(s.labels["le"]), s.value))
buckets.sort()
if not buckets or buckets[-1][1] == 0:
    sys.exit(f"no {action} requests in the histogram")
total = buckets[-1][1]
quantile = {p: next(le for le, count in buckets if count >= p * total) for p in (0.5, 0.99)}
print(f"server-side ({int(total)} requests): p50 <= {quantile[0.5] * 1000:g} ms, p99 <= {quantile[0.99] * 1000:g} ms")
