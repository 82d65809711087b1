"""Node agents (`shipshape agent`): two agents with their own data dirs and node names, pointed at
the same Docker Engine, report as two nodes to an API replica that sees no engine itself
(`serve --workers 0`). Reads go through the official Python SDK; the agents sign with their agent
key (TC3, `ReportNodeAssets`, the one Shipshape extension). An agent key can call nothing else, a
normal key cannot report; a stopped agent's node shows offline after three intervals, its assets
kept; the agents' compliance results show in the compliance list actions.
"""
import json
import os
import signal
import subprocess
import time
import uuid

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.tcss.v20201101 import models

from conftest import Key, Server, create_pg_database, make_call, make_tcss, shipshape_bin
from test_image_scan import IMAGE, docker_image_id

PRIVILEGED = 2001


def start_agent(server, key_file, data_dir, name, extra=()):
    data_dir.mkdir(parents=True, exist_ok=True)
    log = open(data_dir / "agent.log", "ab")
    return subprocess.Popen([shipshape_bin(), "agent", "--server", f"http://{server.endpoint}", "--key-file", str(key_file),
                             "--data-dir", str(data_dir), "--node-name", name, "--interval", "1s", "--compliance-every", "1h", *extra],
                            stdout=log, stderr=log, env={**os.environ, "RUST_LOG": "info"})


def until(what, check, timeout=90):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"{what}: never true (last: {last!r})")


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_agents_report_two_nodes(tmp_path, backend):
    image_id = docker_image_id()
    database = None
    if backend == "postgres":
        database = create_pg_database()
        if database is None:
            pytest.skip("SHIPSHAPE_TEST_PG unset")
    srv = Server(backend, tmp_path / "server", database=database, extra=["--workers", "0"]).start()
    name = f"ss-agent-{uuid.uuid4().hex[:8]}"
    cid = subprocess.run(["docker", "create", "--name", name, "--network", "none", "--privileged", IMAGE, "true"],
                         check=True, capture_output=True, text=True, timeout=120).stdout.strip()
    agents = []
    try:
        owner = srv.first_key()
        made = json.loads(srv.cli("keys", "create", "--app-id", str(owner.app_id), "--role", "agent").stdout)
        agent_key = Key(made["SecretId"], made["SecretKey"], made["AppId"])
        listed = {k["SecretId"]: k["Role"] for k in json.loads(srv.cli("keys", "list").stdout)}
        assert listed[agent_key.secret_id] == "agent" and listed[owner.secret_id] == "full"
        key_file = tmp_path / "agent.json"
        key_file.write_text(json.dumps(made))
        # An agent key must name its account.
        assert srv.cli("keys", "create", "--role", "agent", check=False).returncode != 0

        agents = [start_agent(srv, key_file, tmp_path / "agent-a", "node-a"),
                  start_agent(srv, key_file, tmp_path / "agent-b", "node-b")]
        tcss = make_tcss(srv.endpoint, owner)

        def hosts():
            r = tcss.DescribeAssetHostList(models.DescribeAssetHostListRequest())
            return {h.HostName: h for h in r.List} if r.TotalCount == 2 else None

        by_name = until("two hosts listed", hosts)
        assert {h.Status for h in by_name.values()} == {"ONLINE"}
        node_a, node_b = by_name["node-a"].HostID, by_name["node-b"].HostID
        assert node_a != node_b and node_a.startswith("node-")
        # The node id is kept in each agent's data dir.
        assert (tmp_path / "agent-a" / "node-id").read_text().strip() == node_a
        summary = tcss.DescribeAssetSummary(models.DescribeAssetSummaryRequest())
        assert summary.HostCnt == 2 and summary.HostOnline == 2

        # The test's container is listed on both nodes.
        def containers():
            req = models.DescribeAssetContainerListRequest()
            req.from_json_string(json.dumps({"Limit": 100, "Filters": [{"Name": "ContainerName", "Values": [name]}]}))
            r = tcss.DescribeAssetContainerList(req)
            return r.List if r.TotalCount == 2 else None

        on = until("the container on both nodes", containers)
        assert {c.HostID for c in on} == {node_a, node_b} and {c.ContainerID for c in on} == {cid}
        assert summary.ContainerCnt >= 2

        # The images the agents report join the inventory by image id (this server reads no engine).
        call = make_call(srv.endpoint, owner)
        images = call("DescribeAssetImageList", {"Limit": 100, "Filters": [{"Name": "ImageID", "Values": [image_id], "ExactMatch": True}]})
        assert images["TotalCount"] == 1 and IMAGE in images["List"][0]["ImageName"]
        # On both nodes: two hosts hold it, in the list and in the detail.
        assert images["List"][0]["HostCnt"] == 2
        assert call("DescribeAssetImageDetail", {"ImageID": image_id})["HostCnt"] == 2

        # The agents' compliance results: the privileged container fails item 2001 on each node.
        def compliance_assets():
            r = call("DescribeComplianceAssetList", {"AssetTypeSet": ["ASSET_CONTAINER"], "Limit": 100,
                                                     "Filters": [{"Name": "AssetName", "Values": [name]}]})
            return r["AssetInfoList"] if r["TotalCount"] == 2 else None

        assets = until("the container's compliance asset on both nodes", compliance_assets)
        for a in assets:
            assert a["CheckStatus"] == "CHECK_FINISHED" and a["CheckResult"] == "RESULT_FAILED", a
            items = call("DescribeComplianceAssetPolicyItemList", {"CustomerAssetId": a["CustomerAssetId"], "Limit": 100})
            item = {i["CustomerPolicyItemId"]: i for i in items["AssetPolicyItemList"]}[PRIVILEGED]
            assert item["CheckResult"] == "RESULT_FAILED", item

        # An agent key can call nothing but the report; a normal key cannot report.
        with pytest.raises(TencentCloudSDKException) as e:
            make_tcss(srv.endpoint, agent_key).DescribeAssetImageList(models.DescribeAssetImageListRequest())
        assert e.value.code == "AuthFailure.UnauthorizedOperation"
        with pytest.raises(TencentCloudSDKException) as e:
            call("ReportNodeAssets", {"NodeId": "forged", "IntervalSecs": 1, "Host": {}, "Containers": [], "Images": []})
        assert e.value.code == "AuthFailure.UnauthorizedOperation"
        assert len(hosts() or {}) == 2, "the refused report changed nothing"

        # A stopped agent's node goes offline after three intervals; its assets stay.
        agents[1].send_signal(signal.SIGTERM)
        assert agents[1].wait(timeout=30) == 0

        def b_offline():
            h = hosts()
            return h if h and h["node-b"].Status == "OFFLINE" else None

        h = until("node-b offline", b_offline, timeout=60)
        assert h["node-a"].Status == "ONLINE"
        assert {c.HostID for c in containers()} == {node_a, node_b}, "an offline node's containers stay listed"
        summary = tcss.DescribeAssetSummary(models.DescribeAssetSummaryRequest())
        assert summary.HostCnt == 2 and summary.HostOnline == 1
    finally:
        for p in agents:
            if p.poll() is None:
                p.kill()
                p.wait()
        srv.stop()
        subprocess.run(["docker", "rm", "-f", cid], capture_output=True, timeout=120)
