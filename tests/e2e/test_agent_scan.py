"""An image only on an agent's node is scanned by that agent: the server reads no Docker Engine
(`--docker-host` names a socket that does not exist) and no registry holds the image, so the scan
task hands the image to the agent of the node that reported it. The agent polls `PollNodeWork`,
indexes the image from its own Docker Engine with the server's scan engine and uploads the index
(`ReportNodeImageScan`); the server matches it against its advisories. The vulnerability list
then equals `shipshape image scan` of the same image. Only an agent key may upload, a bad upload
is refused and changes nothing, and a scan waiting for an agent that stopped fails with the reason.
"""
import json
import re
import signal
import subprocess
import time

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from conftest import Key, Server, create_pg_database, make_call, shipshape_bin
from test_agent import start_agent, until
from test_image_scan import SHARED, docker_image_id, poll_until_end


def error_code(f):
    with pytest.raises(TencentCloudSDKException) as e:
        f()
    return e.value.code


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_agent_scans_an_image_only_on_its_node(tmp_path, backend):
    image_id = docker_image_id()
    database = None
    if backend == "postgres":
        database = create_pg_database()
        if database is None:
            pytest.skip("SHIPSHAPE_TEST_PG unset")
    srv = Server(backend, tmp_path / "server", database=database, extra=["--docker-host", f"unix://{tmp_path}/no-docker.sock"])
    srv.data_dir.mkdir(parents=True, exist_ok=True)
    for eco in ("Debian", "PyPI", "npm"):
        srv.cli("db", "import", str(SHARED / "vulndata" / "osv" / eco))
    srv.start()
    agent = None
    try:
        owner = srv.first_key()
        made = json.loads(srv.cli("keys", "create", "--app-id", str(owner.app_id), "--role", "agent").stdout)
        agent_key = Key(made["SecretId"], made["SecretKey"], made["AppId"])
        key_file = tmp_path / "agent.json"
        key_file.write_text(json.dumps(made))
        call = make_call(srv.endpoint, owner)
        as_agent = make_call(srv.endpoint, agent_key)

        agent = start_agent(srv, key_file, tmp_path / "agent", "node-scan", extra=["--poll-every", "1s"])
        exact = {"Limit": 100, "Filters": [{"Name": "ImageID", "Values": [image_id], "ExactMatch": True}]}
        until("the agent's image listed", lambda: call("DescribeAssetImageList", exact)["TotalCount"] == 1)
        node_id = (tmp_path / "agent" / "node-id").read_text().strip()

        started = time.time()
        task = call("CreateAssetImageScanTask", {"Images": [image_id], "ScanVul": True, "ScanRisk": True})["TaskID"]
        last, history = poll_until_end(call, task)
        took = time.time() - started
        assert (last["ImageTotal"], last["SuccessCount"]) == (1, 1), last
        assert any(h["Status"] == "SCANNING" for h in history), "the task waited for the agent"
        log = (tmp_path / "agent" / "agent.log").read_text(errors="replace")
        assert "image index uploaded" in log, log[-3000:]

        # The server matched what the agent read: the same as the CLI reading the image itself.
        cli = subprocess.run([shipshape_bin(), "image", "scan", f"docker:{image_id}", "--scanners", "vuln,risk", "--format", "json",
                              "--cache-dir", str(tmp_path / "cli-cache"), *srv.global_args()],
                             capture_output=True, text=True, timeout=900)
        assert cli.returncode == 0, cli.stderr
        cli = json.loads(cli.stdout)
        vuls = call("DescribeAssetImageVulList", {"ImageID": image_id, "Limit": 100})
        risks = call("DescribeAssetImageRiskList", {"ImageID": image_id, "Limit": 100})
        assert vuls["TotalCount"] == len(cli["vulnerabilities"]) > 0
        assert risks["TotalCount"] == len(cli["risks"]) > 0
        detail = call("DescribeAssetImageDetail", {"ImageID": image_id})
        assert detail["ScanStatus"] == "SCANNED" and detail["ScanError"] == "", detail
        print(f"node-only image scanned through its agent in {took:.1f}s: {vuls['TotalCount']} vulnerabilities, "
              f"{risks['TotalCount']} risks")

        # Scanned again: the agent's layer cache answers every layer (the image is not exported).
        again = call("CreateAssetImageScanTask", {"Images": [image_id], "ScanVul": True, "ScanRisk": True})["TaskID"]
        last, _ = poll_until_end(call, again)
        assert last["SuccessCount"] == 1, last
        log = re.sub(r"\x1b\[[0-9;]*m", "", (tmp_path / "agent" / "agent.log").read_text(errors="replace"))
        indexed = re.findall(r"image indexed on the node seconds=([0-9.]+) layers=(\d+) cached=(\d+)", log)
        assert len(indexed) == 2 and int(indexed[1][1]) == int(indexed[1][2]) > 0, indexed
        assert call("DescribeAssetImageVulList", {"ImageID": image_id, "Limit": 100})["TotalCount"] == vuls["TotalCount"]
        uploads = re.findall(r"upload_bytes=(\d+)", log)
        print(f"agent index: cold {float(indexed[0][0]):.2f}s, all layers cached {float(indexed[1][0]):.2f}s; uploads {uploads} bytes")

        # Only agent keys upload; a bad upload is refused and changes nothing.
        upload = {"NodeId": node_id, "TaskID": task, "ImageID": image_id, "Packages": [], "Layers": 1}
        assert error_code(lambda: call("ReportNodeImageScan", upload)) == "AuthFailure.UnauthorizedOperation"
        assert error_code(lambda: call("PollNodeWork", {"NodeId": node_id})) == "AuthFailure.UnauthorizedOperation"
        assert error_code(lambda: as_agent("ReportNodeImageScan", {**upload, "ImageID": "nope"})) == "InvalidParameter.InvalidFormat"
        assert error_code(lambda: as_agent("ReportNodeImageScan", {**upload, "Bogus": 1})).startswith("UnknownParameter")
        assert error_code(lambda: as_agent("ReportNodeImageScan", {**upload, "NodeId": "node-other"})) == "ResourceNotFound"
        # Well-formed, but no scan of this image waits for the node now: refused.
        assert error_code(lambda: as_agent("ReportNodeImageScan", upload)) == "ResourceNotFound"
        assert call("DescribeAssetImageVulList", {"ImageID": image_id, "Limit": 100})["TotalCount"] == vuls["TotalCount"]
        assert as_agent("PollNodeWork", {"NodeId": node_id})["ImageScans"] == []

        # A compliance task reaches the agent at its next poll: it checks and reports at once,
        # though its --compliance-every is an hour.
        def compliance_reports():
            text = re.sub(r"\x1b\[[0-9;]*m", "", (tmp_path / "agent" / "agent.log").read_text(errors="replace"))
            return len(re.findall(r'"ComplianceAssetCnt":[1-9]', text))

        before = until("the agent's first compliance report", compliance_reports)
        asset = call("DescribeComplianceAssetList", {"Limit": 100})["AssetInfoList"][0]
        call("ScanComplianceAssets", {"CustomerAssetIdSet": [asset["CustomerAssetId"]], "AssetType": asset["AssetType"]})
        until("the agent checked again for the task", lambda: compliance_reports() > before, timeout=60)

        # The agent stops: a new scan waits for it, then fails with the reason once its lease
        # (three reporting intervals) passes.
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=30) == 0
        task2 = call("CreateAssetImageScanTask", {"Images": [image_id], "ScanVul": True})["TaskID"]
        last, _ = poll_until_end(call, task2, timeout=120)
        assert (last["ImageTotal"], last["SuccessCount"]) == (1, 0), last
        t = call("DescribeAssetImageScanTask", {})
        assert (t["TaskID"], t["Status"], t["SubStatus"]) == (task2, "END", "Error"), t
        detail = call("DescribeAssetImageDetail", {"ImageID": image_id})
        assert detail["ScanStatus"] == "SCAN_ERR" and node_id in detail["ScanError"] and "agent" in detail["ScanError"], detail
    finally:
        if agent is not None and agent.poll() is None:
            agent.kill()
            agent.wait()
        srv.stop()
