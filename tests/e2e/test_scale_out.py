"""Past one process: two API replicas (`serve --workers 0`) and one `shipshape worker` on one
PostgreSQL. A task created through one replica is seen through the other and carried out by the
worker; the replicas scan nothing themselves. Every process holds the same master.key (the
secrets at rest are sealed with it), as a deployment's shared secret would provide.
"""
import subprocess
import time

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from conftest import Server, copy_master_key, create_pg_database, make_call, shipshape_bin, start_worker
from test_image_scan import docker_image_id, poll_until_end, wait_image


def test_api_replicas_and_a_worker_share_one_database(tmp_path):
    image_id = docker_image_id()
    database = create_pg_database()
    if database is None:
        pytest.skip("SHIPSHAPE_TEST_PG unset")
    a = Server("postgres", tmp_path / "api-a", database=database, extra=["--workers", "0"]).start()
    worker_dir = tmp_path / "worker"
    b = None
    worker = None
    try:
        # The other processes get the first one's master key.
        copy_master_key(a, tmp_path / "api-b")
        b = Server("postgres", tmp_path / "api-b", database=database, extra=["--workers", "0"]).start()
        worker = start_worker(a, worker_dir, database)
        key = a.first_key()
        call_a, call_b = make_call(a.endpoint, key), make_call(b.endpoint, key)
        # The worker's inventory reaches both replicas.
        wait_image(call_b, image_id, timeout=120)
        task = call_a("CreateAssetImageScanTask", {"Images": [image_id], "ScanRisk": True})["TaskID"]
        assert call_b("DescribeAssetImageScanTask", {})["TaskID"] == task, "a task created through A is seen through B"
        last, _ = poll_until_end(call_b, task)
        assert last["SuccessCount"] == last["ImageTotal"] == 1
        risks_a = call_a("DescribeAssetImageRiskList", {"ImageID": image_id, "Limit": 100})
        risks_b = call_b("DescribeAssetImageRiskList", {"ImageID": image_id, "Limit": 100})
        assert risks_a["TotalCount"] == risks_b["TotalCount"] > 0
        worker_log = (worker_dir / "worker.log").read_text(errors="replace")
        assert "scanning image" in worker_log
        for replica in (a, b):
            assert "scanning image" not in replica.log(), "an API replica with --workers 0 scanned"
            assert "no background work in this process" in replica.log()
        # A key created through the CLI on one replica's data works on the other replica.
        k2 = a.new_key()
        call_k2 = make_call(b.endpoint, k2)
        assert "Enable" in call_k2("DescribeAssetImageScanSetting", {})
        # Disabled through A's data (the CLI writes the shared database; B holds the key in its
        # cache): B refuses it once its one-second cache entry has lapsed, with no restart or signal.
        a.cli("keys", "disable", k2.secret_id)
        time.sleep(1.1)
        with pytest.raises(TencentCloudSDKException) as refused:
            call_k2("DescribeAssetImageScanSetting", {})
        assert refused.value.code == "AuthFailure.SecretIdNotFound"
        assert "Enable" in call_b("DescribeAssetImageScanSetting", {}), "other keys are unaffected"
        # The worker stops cleanly on SIGTERM.
        worker.terminate()
        assert worker.wait(timeout=30) == 0
        worker = None
        # `worker --workers 0` is refused.
        out = subprocess.run([shipshape_bin(), "worker", "--workers", "0", "--data-dir", str(worker_dir), "--database", database],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode != 0 and "--workers 0" in out.stderr
    finally:
        if worker is not None:
            worker.kill()
            worker.wait()
        if b is not None:
            b.stop()
        a.stop()
