"""Running as a platform: `/readyz` and `/metrics` (parsed with prometheus_client's OpenMetrics
parser), the per-(account, action) rate limit shared by two API replicas on PostgreSQL, and the
schedulers and the inventory refresh firing once among two workers.
"""
import os
import subprocess
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from conftest import Server, copy_master_key, create_pg_database, make_call, start_worker
from test_image_scan import docker_image_id, poll_until_end, wait_image


def scrape(endpoint):
    """{(sample name, frozenset(labels)): value} of GET /metrics; the parser is strict (it raises
    on anything that is not OpenMetrics text, including a missing `# EOF`)."""
    with urllib.request.urlopen(f"http://{endpoint}/metrics", timeout=30) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("application/openmetrics-text")
        text = r.read().decode()
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def sample(m, name, **labels):
    return m.get((name, frozenset(labels.items())), 0)


def status(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_metrics_move_after_a_scan_and_readyz(tmp_path):
    image_id = docker_image_id()
    srv = Server("sqlite", tmp_path / "srv").start()
    try:
        assert status(f"http://{srv.endpoint}/readyz") == 200
        call = make_call(srv.endpoint, srv.first_key())
        before = scrape(srv.endpoint)
        assert sample(before, "shipshape_queue_depth", queue="image_scan") == 0
        assert sample(before, "shipshape_advisory_data_age_seconds") == -1, "no advisory data loaded"
        wait_image(call, image_id)
        task = call("CreateAssetImageScanTask", {"Images": [image_id], "ScanRisk": True})["TaskID"]
        last, _ = poll_until_end(call, task)
        assert last["SuccessCount"] == 1
        with pytest.raises(TencentCloudSDKException) as refused:
            call("DescribeAssetImageRiskList", {"ImageID": image_id, "Limit": 100000})
        after = scrape(srv.endpoint)
        ok = ("shipshape_api_requests_total", "CreateAssetImageScanTask", "Success")
        assert sample(before, ok[0], action=ok[1], code=ok[2]) == 0
        assert sample(after, ok[0], action=ok[1], code=ok[2]) == 1
        assert sample(after, "shipshape_api_requests_total", action="DescribeAssetImageRiskList",
                      code=refused.value.code) == 1, refused.value.code
        polls = sample(after, "shipshape_api_requests_total", action="DescribeAssetImageScanStatus", code="Success")
        assert polls >= 1
        assert sample(after, "shipshape_api_request_duration_seconds_count", action="DescribeAssetImageScanStatus") >= polls
        assert sample(after, "shipshape_image_scans_duration_seconds_count", result="done") == \
            sample(before, "shipshape_image_scans_duration_seconds_count", result="done") + 1
        risks = call("DescribeAssetImageRiskList", {"ImageID": image_id, "Limit": 100})["TotalCount"]
        assert risks > 0
        stored = sum(v for (name, labels), v in after.items() if name == "shipshape_findings" and ("kind", "risk") in labels)
        assert stored == risks, "findings by severity add up to the image's risk count"
        assert sample(after, "shipshape_nodes_online") >= 1, "the worker in serve reports its own host"
        assert sample(after, "shipshape_queue_depth", queue="image_scan") == 0
        # Worker log lines of the scan carry its task id (the span's field).
        scan_lines = [l for l in srv.log().splitlines() if "scanning image" in l]
        assert scan_lines and all(f"task={task}" in l for l in scan_lines), scan_lines
    finally:
        srv.stop()


def test_readyz_fails_when_the_database_is_gone(tmp_path):
    database = create_pg_database()
    if database is None:
        pytest.skip("SHIPSHAPE_TEST_PG unset")
    srv = Server("postgres", tmp_path / "pg", database=database, extra=["--workers", "0"]).start()
    try:
        assert status(f"http://{srv.endpoint}/readyz") == 200
        name = database.rsplit("/", 1)[1].split("?")[0]
        subprocess.run(["psql", os.environ["SHIPSHAPE_TEST_PG"], "-v", "ON_ERROR_STOP=1", "-qc",
                       f"DROP DATABASE {name} WITH (FORCE)"], check=True, timeout=60)
        assert status(f"http://{srv.endpoint}/readyz") == 503
        assert status(f"http://{srv.endpoint}/healthz") == 200, "liveness does not depend on the database"
    finally:
        srv.stop()


def test_rate_limit_holds_across_two_replicas(tmp_path):
    """Each replica leases its tokens from the per-second counter in PostgreSQL (`api::rate_limit`):
    at most `limit` accepted in any wall-clock second across both, and a refusal only after at
    least limit − (replicas − 1) × lease acceptances in that second."""
    database = create_pg_database()
    if database is None:
        pytest.skip("SHIPSHAPE_TEST_PG unset")
    limit, replicas = 5, 2
    lease = -(-limit // 4)  # api::rate_limit::lease_size
    # Calls come faster than the per-address limit allows; that limit is not the one under test.
    extra = ["--workers", "0", "--ip-rate-limit", "0"]
    a = Server("postgres", tmp_path / "a", database=database, rate_limit=limit, extra=extra).start()
    b = None
    try:
        copy_master_key(a, tmp_path / "b")
        b = Server("postgres", tmp_path / "b", database=database, rate_limit=limit, extra=extra).start()
        key = a.first_key()
        calls = [make_call(a.endpoint, key), make_call(b.endpoint, key)]
        # (sent, answered, accepted) of each call; both servers run on this host, so each call was
        # counted in a second between its two stamps.
        log = []
        start = time.time()
        while time.time() < start + 3.5:
            sent = time.time()
            try:
                calls[len(log) % 2]("DescribeAssetImageScanSetting", {})
                ok = True
            except TencentCloudSDKException as e:
                assert e.code == "RequestLimitExceeded", e
                ok = False
            log.append((sent, time.time(), ok))
        busy = 0
        for second in range(int(log[0][0]), int(log[-1][1]) + 1):
            surely = [ok for (s, e, ok) in log if int(s) == int(e) == second]
            maybe_accepted = sum(ok for (s, e, ok) in log if int(s) <= second <= int(e))
            assert sum(surely) <= limit, (second, surely)
            if False in surely:
                assert maybe_accepted >= limit - (replicas - 1) * lease, (second, maybe_accepted)
            busy += len(surely) >= 2 * limit + 1
        # Seconds with more calls than two per-replica limiters would have accepted between them:
        # there the limit can only have held because it is shared.
        assert busy >= 2, [len(log), busy]
    finally:
        if b is not None:
            b.stop()
        a.stop()


def test_scheduler_and_inventory_fire_once_with_two_workers(tmp_path):
    image_id = docker_image_id()
    database = create_pg_database()
    if database is None:
        pytest.skip("SHIPSHAPE_TEST_PG unset")
    api = Server("postgres", tmp_path / "api", database=database, extra=["--workers", "0"]).start()
    workers, logs = [], []
    try:
        for d in (tmp_path / "w1", tmp_path / "w2"):
            logs.append(d / "worker.log")
            workers.append(start_worker(api, d, database, inventory_every=3, log_filter="info,scan=debug"))
        call = make_call(api.endpoint, api.first_key())
        wait_image(call, image_id, timeout=120)
        # No test clock: the slot is the next whole minute at least 30 s ahead (ScanTime has minutes), waited for
        # by both workers.
        at = (datetime.now(timezone.utc) + timedelta(seconds=30 + 59)).strftime("%H:%M")
        call("CreateAssetImageScanSetting", {"Enable": True, "ScanTime": at, "ScanPeriod": 1, "ScanVirus": False,
                                             "ScanRisk": True, "ScanVul": False})
        deadline, task = time.time() + 150, None
        while time.time() < deadline and task is None:
            try:
                task = call("DescribeAssetImageScanTask", {})["TaskID"]
            except TencentCloudSDKException:
                time.sleep(0.5)
        assert task, "the scheduled scan did not fire"
        poll_until_end(call, task)
        time.sleep(7)  # both workers tick several times past the slot and two inventory periods
        text = [l.read_text(errors="replace") for l in logs]
        fired = sum(t.count("scheduled image scan due") for t in text)
        assert fired == 1, f"the slot fired {fired} times"
        tasks = subprocess.run(["psql", database, "-tAc", "SELECT COUNT(*) FROM image_scan_tasks WHERE scheduled = 1"],
                               capture_output=True, text=True, check=True, timeout=60).stdout.strip()
        assert tasks == "1"
        # Inventory listings: each period's slot is listed by one worker only.
        slots = [l.split("slot=")[1].split()[0] for t in text for l in t.splitlines() if "image inventory listing" in l]
        assert len(slots) >= 2 and len(slots) == len(set(slots)), slots
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            try:
                w.wait(timeout=30)
            except subprocess.TimeoutExpired:
                w.kill()
        api.stop()
