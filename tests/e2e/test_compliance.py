"""Compliance end to end: assets discovered from the real dockerd, checked with the Rego catalog through the
ScanCompliance* actions, results read back with the list actions, all through the official Python SDK
(and tccli for a seed action).

Containers are made with `docker create` (nothing runs; the checks read `docker inspect`), with known good
and bad settings: memory and PIDs limits, privileged mode. Items (../shared/spec/compliance/catalog.toml):
2001 not privileged, 2009 memory limited, 2022 PIDs limit set.
"""
import json
import os
import shutil
import signal
import subprocess
import time
import uuid

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from conftest import Server, make_call, services_required, shipshape_bin
from test_image_scan import docker_image_id, error_code

PRIVILEGED, MEMORY, PIDS = 2001, 2009, 2022
HOST_ITEM = 1002


def docker(*args):
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120, check=True).stdout.strip()


TINY = "shipshape-test/tiny:1"


@pytest.fixture(scope="session")
def tiny_image(tmp_path_factory):
    """A one-file image made with `docker import`: the checks read `docker inspect` only, and on the vfs
    storage driver every container copies its image, so a small one keeps the tests fast."""
    docker_image_id()  # skips (or fails under CI) without dockerd
    root = tmp_path_factory.mktemp("tiny")
    (root / "hello.txt").write_text("shipshape compliance test image\n")
    tar = root / "tiny.tar"
    subprocess.run(["tar", "-C", str(root), "-cf", str(tar), "hello.txt"], check=True)
    subprocess.run(["docker", "import", str(tar), TINY], check=True, capture_output=True, timeout=120)
    return TINY


@pytest.fixture
def containers(tiny_image):
    """(good, bad) container names: good has memory and PIDs limits; bad is privileged without limits."""
    tag = uuid.uuid4().hex[:8]
    good, bad = f"ss-good-{tag}", f"ss-bad-{tag}"
    docker("create", "--name", good, "--network", "none", "--memory", "64m", "--pids-limit", "100", tiny_image, "true")
    docker("create", "--name", bad, "--network", "none", "--privileged", tiny_image, "true")
    yield good, bad
    subprocess.run(["docker", "rm", "-f", good, bad], capture_output=True, timeout=120)


def wait_assets(call, names, asset_type="ASSET_CONTAINER", timeout=60):
    """CustomerAssetIds of the named assets once discovery lists them."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = call("DescribeComplianceAssetList", {"AssetTypeSet": [asset_type], "Limit": 100,
                                                 "Filters": [{"Name": "AssetName", "Values": list(names)}]})
        found = {a["AssetName"].lstrip("/"): a["CustomerAssetId"] for a in r["AssetInfoList"]}
        if all(n in found for n in names):
            return [found[n] for n in names]
        time.sleep(0.5)
    raise AssertionError(f"{names} never showed up in DescribeComplianceAssetList")


def items_of(call, asset_id):
    out, offset = {}, 0
    while True:
        r = call("DescribeComplianceAssetPolicyItemList", {"CustomerAssetId": asset_id, "Limit": 100, "Offset": offset})
        out.update({i["CustomerPolicyItemId"]: i for i in r["AssetPolicyItemList"]})
        offset += 100
        if offset >= r["TotalCount"]:
            return out


def wait_checked(call, asset_id, item_ids, timeout=120):
    """Items of the asset once none of `item_ids` is pending or running."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        items = items_of(call, asset_id)
        if all(items[i]["CheckStatus"] in ("CHECK_FINISHED", "CHECK_FAILED") for i in item_ids):
            return items
        time.sleep(0.3)
    raise AssertionError(f"asset {asset_id}: items {item_ids} not checked: {[items[i] for i in item_ids]}")


def wait_task(call, task_id, asset_type="ASSET_CONTAINER", timeout=120):
    """Waits until `task_id` is the type's latest task and it has finished."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        latest = call("DescribeComplianceTaskPolicyItemSummaryList", {"AssetType": asset_type, "Limit": 1})["TaskId"]
        s = call("DescribeComplianceTaskAssetSummary", {"AssetTypeSet": [asset_type]})["AssetSummaryList"][0]
        if latest == task_id and s["CheckStatus"] == "CHECK_FINISHED":
            assert s["CheckProgress"] == 100
            return s
        time.sleep(0.3)
    raise AssertionError(f"compliance task {task_id} did not finish")


def latest_task(call):
    return call("DescribeComplianceTaskPolicyItemSummaryList", {"AssetType": "ASSET_CONTAINER", "Limit": 1})["TaskId"]


def test_scan_list_and_recheck_after_docker_update(server, call, tccli, containers):
    good, bad = containers
    good_id, bad_id = wait_assets(call, [good, bad])
    task = call("ScanComplianceAssets", {"CustomerAssetIdSet": [good_id, bad_id], "AssetType": "ASSET_CONTAINER"})["TaskId"]
    assert isinstance(task, int) and task > 0
    g = wait_checked(call, good_id, [PRIVILEGED, MEMORY, PIDS])
    b = wait_checked(call, bad_id, [PRIVILEGED, MEMORY, PIDS])
    assert [g[i]["CheckResult"] for i in (PRIVILEGED, MEMORY, PIDS)] == ["RESULT_PASSED"] * 3, g[MEMORY]
    assert [b[i]["CheckResult"] for i in (PRIVILEGED, MEMORY, PIDS)] == ["RESULT_FAILED"] * 3, b[MEMORY]
    # The evidence says which field had which value.
    assert "Memory" in b[MEMORY]["VerifyInfo"] or "memory" in b[MEMORY]["VerifyInfo"], b[MEMORY]
    # Asset-level tallies, detail and item-level views agree.
    assets = {a["CustomerAssetId"]: a for a in call("DescribeComplianceAssetList", {"AssetTypeSet": ["ASSET_CONTAINER"], "Limit": 100})["AssetInfoList"]}
    assert assets[bad_id]["CheckResult"] == "RESULT_FAILED" and assets[bad_id]["FailedPolicyItemCount"] >= 3
    detail = call("DescribeComplianceAssetDetailInfo", {"CustomerAssetId": bad_id})
    assert detail["AssetDetailInfo"]["FailedPolicyItemCount"] == assets[bad_id]["FailedPolicyItemCount"]
    assert len(detail["ContainerDetailInfo"]["ContainerId"]) == 64
    affected = call("DescribeCompliancePolicyItemAffectedAssetList", {"CustomerPolicyItemId": MEMORY, "Limit": 100,
                                                                       "Filters": [{"Name": "CheckResult", "Values": ["RESULT_FAILED"], "ExactMatch": True}]})
    ids = {a["CustomerAssetId"] for a in affected["AffectedAssetList"]}
    assert bad_id in ids and good_id not in ids
    summary = call("DescribeCompliancePolicyItemAffectedSummary", {"CustomerPolicyItemId": MEMORY})["PolicyItemSummary"]
    assert summary["FailedAssetCount"] >= 1 and summary["PassedAssetCount"] >= 1
    s = call("DescribeComplianceTaskAssetSummary", {"AssetTypeSet": ["ASSET_CONTAINER"]})
    assert s["Status"] == "USER_NORMAL" and s["AssetSummaryList"][0]["FailedAssetCount"] >= 1

    # Fix the memory limit; re-check that one item on that asset (a seed action, through tccli).
    docker("update", "--memory", "64m", "--memory-swap", "64m", bad)
    out = tccli("ScanComplianceAssetsByPolicyItem", "--CustomerPolicyItemId", str(MEMORY),
                "--CustomerAssetIdSet", json.dumps([bad_id]), "--AssetType", "ASSET_CONTAINER")
    assert out.returncode == 0, out.stderr
    task2 = json.loads(out.stdout)["TaskId"]
    assert task2 > task
    deadline = time.time() + 60
    while time.time() < deadline:
        b2 = items_of(call, bad_id)
        if b2[MEMORY]["CheckResult"] == "RESULT_PASSED":
            break
        time.sleep(0.3)
    assert b2[MEMORY]["CheckResult"] == "RESULT_PASSED", b2[MEMORY]
    # Only that item was re-checked: privileged is still failed from the first task.
    assert b2[PRIVILEGED]["CheckResult"] == "RESULT_FAILED"


def test_bad_input_gets_the_documented_error_and_changes_nothing(server, call, containers):
    good, _ = containers
    (good_id,) = wait_assets(call, [good])
    before = latest_task(call)
    cases = [
        ("ScanComplianceAssetsByPolicyItem", {"CustomerPolicyItemId": MEMORY}, "InvalidParameter.MissingParameter"),
        ("ScanComplianceAssetsByPolicyItem", {"CustomerPolicyItemId": MEMORY, "CustomerAssetIdSet": []}, "InvalidParameter.MissingParameter"),
        ("ScanComplianceScanFailedAssets", {}, "InvalidParameter.MissingParameter"),
        ("ScanComplianceScanFailedAssets", {"CustomerAssetIdSet": []}, "InvalidParameter.MissingParameter"),
        ("ScanComplianceAssetsByPolicyItem", {"CustomerPolicyItemId": MEMORY, "CustomerAssetIdSet": [good_id, 987654321]}, "InvalidParameter"),
        ("ScanComplianceAssetsByPolicyItem", {"CustomerPolicyItemId": 99999, "CustomerAssetIdSet": [good_id]}, "InvalidParameter"),
        ("ScanComplianceAssetsByPolicyItem", {"CustomerPolicyItemId": HOST_ITEM, "CustomerAssetIdSet": [good_id]}, "InvalidParameter"),
        ("ScanComplianceAssetsByPolicyItem", {"CustomerPolicyItemId": MEMORY, "CustomerAssetIdSet": [good_id], "AssetType": "ASSET_NOPE"}, "InvalidParameter"),
        ("ScanComplianceAssetsByPolicyItem", {"CustomerPolicyItemId": MEMORY, "CustomerAssetIdSet": [good_id], "AssetType": "ASSET_HOST"}, "InvalidParameter"),
        ("ScanComplianceScanFailedAssets", {"CustomerAssetIdSet": [987654321]}, "InvalidParameter"),
        ("ScanComplianceAssetsByPolicyItem", {"CustomerPolicyItemId": "x", "CustomerAssetIdSet": [good_id]}, "InvalidParameter"),
    ]
    for action, params, code in cases:
        assert error_code(lambda: call(action, params)) == code, (action, params)
    # Ids are named in the message.
    with pytest.raises(TencentCloudSDKException) as e:
        call("ScanComplianceAssetsByPolicyItem", {"CustomerPolicyItemId": MEMORY, "CustomerAssetIdSet": [good_id, 987654321]})
    assert "987654321" in e.value.get_message()
    assert latest_task(call) == before, "a refused request queued a task"


def test_whitelist_and_period_tasks(server, call, containers):
    good, _ = containers
    (good_id,) = wait_assets(call, [good])
    call("AddCompliancePolicyAssetSetToWhitelist", {"CustomerPolicyItemId": PIDS, "CustomerAssetItemIdSet": [good_id]})
    call("AddCompliancePolicyItemToWhitelist", {"CustomerPolicyItemIdSet": [MEMORY]})
    wl = call("DescribeComplianceWhitelistItemList", {"Limit": 100})
    by_item = {w["CustomerPolicyItemId"]: w for w in wl["WhitelistItemSet"]}
    assert {PIDS, MEMORY} <= set(by_item) and wl["TotalCount"] == len(wl["WhitelistItemSet"])
    items = items_of(call, good_id)
    assert items[PIDS]["WhitelistId"] == by_item[PIDS]["WhitelistItemId"]
    assert items[MEMORY]["WhitelistId"] == by_item[MEMORY]["WhitelistItemId"]
    assert items[PIDS]["CheckResult"] == "" and "whitelist" in items[PIDS]["VerifyInfo"]
    # Whitelisted items are skipped by a scan of the asset.
    call("ScanComplianceAssets", {"CustomerAssetIdSet": [good_id]})
    checked = wait_checked(call, good_id, [PRIVILEGED])
    assert checked[PIDS]["CheckResult"] == "" and checked[MEMORY]["CheckResult"] == ""
    assert error_code(lambda: call("DeleteCompliancePolicyItemFromWhitelist", {"WhitelistIdSet": [987654321]})) == "InvalidParameter"
    call("DeleteCompliancePolicyItemFromWhitelist", {"WhitelistIdSet": [by_item[MEMORY]["WhitelistItemId"]]})
    call("DeleteCompliancePolicyAssetSetFromWhitelist", {"PolicyAssetSetList": [{"CustomerPolicyItemId": PIDS, "CustomerAssetItemIdSet": [good_id]}]})
    assert call("DescribeComplianceWhitelistItemList", {"Limit": 100})["TotalCount"] == 0

    tasks = call("DescribeCompliancePeriodTaskList", {})
    assert tasks["TotalCount"] == 6
    container_task = next(t for t in tasks["PeriodTaskSet"] if t["AssetType"] == "ASSET_CONTAINER")
    assert container_task["PeriodRule"]["Enable"] is False
    call("ModifyCompliancePeriodTask", {"PeriodTaskId": container_task["PeriodTaskId"],
                                        "PeriodRule": {"Frequency": 3, "ExecutionTime": "04:30:00", "Enable": True}})
    after = call("DescribeCompliancePeriodTaskList", {"AssetType": "ASSET_CONTAINER"})["PeriodTaskSet"][0]
    assert after["PeriodRule"] == {"Frequency": 3, "ExecutionTime": "04:30:00", "Enable": True}
    for bad in ({"Frequency": 2}, {"ExecutionTime": "25:00:00"}):
        assert error_code(lambda: call("ModifyCompliancePeriodTask", {"PeriodTaskId": 1, "PeriodRule": bad})).startswith("InvalidParameter")
    assert call("DescribeCompliancePeriodTaskList", {"AssetType": "ASSET_CONTAINER"})["PeriodTaskSet"][0]["PeriodRule"]["Frequency"] == 3


def test_unreachable_daemon_then_scan_failed_assets(tmp_path, containers):
    """The server talks to dockerd through a proxy socket; closing it mid-life makes checks fail (CHECK_FAILED,
    listed as failed assets); once it is back, ScanComplianceScanFailedAssets re-runs exactly those items."""
    if shutil.which("socat") is None:
        if services_required():
            pytest.fail("SHIPSHAPE_TEST_SERVICES=1 but socat is missing")
        pytest.skip("no socat")
    good, bad = containers
    sock = tmp_path / "docker-proxy.sock"

    def proxy():
        p = subprocess.Popen(["socat", f"UNIX-LISTEN:{sock},fork", "UNIX-CONNECT:/var/run/docker.sock"])
        for _ in range(100):
            if sock.exists():
                return p
            time.sleep(0.05)
        raise AssertionError("proxy socket did not appear")

    p = proxy()
    srv = Server("sqlite", tmp_path / "srv", extra=["--docker-host", f"unix://{sock}", "--discover-every", "2"])
    srv.start()
    try:
        call = make_call(srv.endpoint, srv.first_key())
        good_id, bad_id = wait_assets(call, [good, bad])
        p.send_signal(signal.SIGTERM)
        p.wait()
        if sock.exists():
            sock.unlink()
        call("ScanComplianceAssets", {"CustomerAssetIdSet": [good_id, bad_id]})
        items = wait_checked(call, good_id, [MEMORY])
        assert items[MEMORY]["CheckStatus"] == "CHECK_FAILED", items[MEMORY]
        failed = call("DescribeComplianceScanFailedAssetList", {"AssetTypeSet": ["ASSET_CONTAINER"], "Limit": 100})
        ids = {a["CustomerAssetId"]: a for a in failed["ScanFailedAssetList"]}
        assert {good_id, bad_id} <= set(ids), failed
        assert ids[good_id]["FailureReason"]
        # Discovery while the daemon is away does not drop the assets.
        time.sleep(3)
        assert wait_assets(call, [good, bad]) == [good_id, bad_id]

        p = proxy()
        task = call("ScanComplianceScanFailedAssets", {"CustomerAssetIdSet": [good_id, bad_id], "AssetType": "ASSET_CONTAINER"})["TaskId"]
        assert task > 0
        wait_task(call, task)
        g = wait_checked(call, good_id, [MEMORY, PIDS, PRIVILEGED])
        b = wait_checked(call, bad_id, [MEMORY, PIDS, PRIVILEGED])
        assert g[MEMORY]["CheckStatus"] == "CHECK_FINISHED" and g[MEMORY]["CheckResult"] == "RESULT_PASSED"
        assert b[PRIVILEGED]["CheckResult"] == "RESULT_FAILED"
        failed = call("DescribeComplianceScanFailedAssetList", {"AssetTypeSet": ["ASSET_CONTAINER"], "Limit": 100})
        assert not {good_id, bad_id} & {a["CustomerAssetId"] for a in failed["ScanFailedAssetList"]}
        # Nothing failed any more: re-running failed items of these assets is refused.
        assert error_code(lambda: call("ScanComplianceScanFailedAssets", {"CustomerAssetIdSet": [good_id]})) == "InvalidParameter"
    finally:
        srv.stop()
        p.kill()


def test_host_asset_and_not_applicable_items(server, call):
    """The Docker host is an asset; items that cannot apply are listed without a result and say why."""
    docker_image_id()
    deadline = time.time() + 60
    while time.time() < deadline:
        hosts = call("DescribeComplianceAssetList", {"AssetTypeSet": ["ASSET_HOST"]})["AssetInfoList"]
        if hosts:
            break
        time.sleep(0.5)
    assert hosts, "no ASSET_HOST discovered"
    host = hosts[0]["CustomerAssetId"]
    call("ScanComplianceAssets", {"CustomerAssetIdSet": [host], "AssetType": "ASSET_HOST"})
    items = wait_checked(call, host, [HOST_ITEM])
    results = {i["CheckResult"] for i in items.values()}
    assert results <= {"RESULT_PASSED", "RESULT_FAILED", ""}
    na = [i for i in items.values() if i["VerifyInfo"].startswith("not applicable")]
    for i in na:
        assert i["CheckResult"] == "", i
    a = call("DescribeComplianceAssetList", {"AssetTypeSet": ["ASSET_HOST"]})["AssetInfoList"][0]
    judged = sum(1 for i in items.values() if i["CheckResult"] in ("RESULT_PASSED", "RESULT_FAILED"))
    assert a["PassedPolicyItemCount"] + a["FailedPolicyItemCount"] == judged


def test_cli_check_json_and_table(containers, tmp_path):
    """`shipshape compliance check` runs the same catalog on the same containers, without a server."""
    good, bad = containers
    base = [shipshape_bin(), "compliance", "check", "--asset-type", "ASSET_CONTAINER", "--data-dir", str(tmp_path / "d")]
    out = subprocess.run([*base, "--format", "json"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    by_name = {a["Name"].lstrip("/"): a for a in report["Assets"]}
    assert {good, bad} <= set(by_name)
    result = lambda name, item: next(r for r in by_name[name]["Results"] if r["CustomerPolicyItemId"] == item)  # noqa: E731
    assert [result(good, i)["CheckResult"] for i in (PRIVILEGED, MEMORY, PIDS)] == ["RESULT_PASSED"] * 3
    assert [result(bad, i)["CheckResult"] for i in (PRIVILEGED, MEMORY, PIDS)] == ["RESULT_FAILED"] * 3
    assert all(a["AssetType"] == "ASSET_CONTAINER" for a in report["Assets"])
    table = subprocess.run([*base, "--format", "table"], capture_output=True, text=True, timeout=300)
    assert table.returncode == 0, table.stderr
    assert bad[:20] in table.stdout and str(PRIVILEGED) in table.stdout
    bad_type = subprocess.run([*base[:3], "--asset-type", "ASSET_NOPE"], capture_output=True, text=True, timeout=60)
    assert bad_type.returncode != 0 and "ASSET_NOPE" in bad_type.stderr


def test_kill9_mid_task_resumes_without_loss(tmp_path, tiny_image):
    """A task survives `kill -9` of the server: after a restart it is claimed again and finishes; every
    (asset, item) has exactly one result."""
    tag = uuid.uuid4().hex[:8]
    names = [f"ss-k9-{tag}-{i}" for i in range(12)]
    try:
        for n in names:
            docker("create", "--name", n, "--network", "none", tiny_image, "true")
        srv = Server("sqlite", tmp_path / "srv")
        srv.start()
        call = make_call(srv.endpoint, srv.first_key())
        ids = wait_assets(call, names)
        task = call("ScanComplianceAssets", {"CustomerAssetIdSet": ids, "AssetType": "ASSET_CONTAINER"})["TaskId"]
        time.sleep(0.3)
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait()
        srv.proc = None
        srv.start()
        call = make_call(srv.endpoint, srv.first_key())
        wait_task(call, task, timeout=180)
        for asset in ids:
            items = items_of(call, asset)
            assert all(i["CheckStatus"] in ("CHECK_FINISHED", "CHECK_FAILED") for i in items.values())
            assert items[MEMORY]["CheckResult"] == "RESULT_FAILED" and items[PRIVILEGED]["CheckResult"] == "RESULT_PASSED"
        srv.stop()
    finally:
        subprocess.run(["docker", "rm", "-f", *names], capture_output=True, timeout=300)


def test_periodic_task_fires_once_and_not_again_after_restart(tmp_path, containers):
    """A periodic rule set a few seconds ahead (ExecutionTime has seconds) fires once its time comes, across a
    restart; a second restart does not fire the same slot again. No test clock: the real time is waited for."""
    from datetime import datetime, timedelta, timezone

    good, _ = containers
    srv = Server("sqlite", tmp_path / "srv")
    srv.start()
    call = make_call(srv.endpoint, srv.first_key())
    (good_id,) = wait_assets(call, [good])
    assert latest_task(call) == 0
    due = datetime.now(timezone.utc) + timedelta(seconds=10)
    call("ModifyCompliancePeriodTask", {"PeriodTaskId": 1, "PeriodRule": {"Frequency": 1, "ExecutionTime": due.strftime("%H:%M:%S"),
                                                                            "Enable": True}})
    time.sleep(2)
    assert latest_task(call) == 0, "fired before its time"
    srv.stop()
    time.sleep(max(0.0, due.timestamp() - time.time()))
    try:
        srv.start()
        call = make_call(srv.endpoint, srv.first_key())
        deadline = time.time() + 30
        while latest_task(call) == 0 and time.time() < deadline:
            time.sleep(0.3)
        task = latest_task(call)
        assert task > 0, "the periodic task did not fire"
        wait_task(call, task)
        assert items_of(call, good_id)[MEMORY]["CheckResult"] == "RESULT_PASSED"
        assert call("DescribeCompliancePeriodTaskList", {"AssetType": "ASSET_CONTAINER"})["PeriodTaskSet"][0]["LastTriggerTime"]
        srv.stop()
        srv.start()
        call = make_call(srv.endpoint, srv.first_key())
        time.sleep(3)
        assert latest_task(call) == task, "the same slot fired twice"
    finally:
        srv.stop()
