"""Image inventory and image scan tasks through the official Python SDK and tccli, against
`shipshape serve` connected to the real dockerd holding shipshape-test/bookworm-app:1.

Planted findings come from ../shared/testimages/plants.json (virus/risk paths, secret values
that must never come back unmasked). Results are compared with `shipshape image scan` (the
CLI scanners) on the same image.
"""
import json
import os
import signal
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from conftest import REPO, Server, make_call, services_required, shipshape_bin

IMAGE = "shipshape-test/bookworm-app:1"
SHARED = Path(os.environ.get("SHIPSHAPE_SHARED") or REPO.parent / "shared")
PLANTS = json.loads((SHARED / "testimages" / "plants.json").read_text())
OBJECTS = json.loads((SHARED / "spec" / "schema" / "objects.json").read_text())


def docker_image_id(ref=IMAGE):
    try:
        out = subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", ref], capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        out = None
    if out is None or out.returncode != 0:
        if services_required():
            pytest.fail(f"SHIPSHAPE_TEST_SERVICES=1 but dockerd has no {ref}")
        print(f"no dockerd image {ref}: image scan e2e test skipped")
        pytest.skip(f"no {ref} in dockerd")
    return out.stdout.strip()


def wait_image(call, image_id, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = call("DescribeAssetImageList", {"Limit": 100, "Filters": [{"Name": "ImageID", "Values": [image_id], "ExactMatch": True}]})
        if r["TotalCount"] == 1:
            return r["List"][0]
        time.sleep(0.5)
    raise AssertionError(f"{image_id} never showed up in DescribeAssetImageList")


def poll_until_end(call, task_id, timeout=600, interval=0.2):
    """Polls DescribeAssetImageScanStatus; asserts Schedule never decreases. Returns (last, history)."""
    history, deadline = [], time.time() + timeout
    while time.time() < deadline:
        s = call("DescribeAssetImageScanStatus", {"TaskID": task_id})
        if history:
            assert s["Schedule"] >= history[-1]["Schedule"], history[-3:] + [s]
            assert s["ImageScanCnt"] >= history[-1]["ImageScanCnt"]
        assert s["Schedule"] == (s["ImageScanCnt"] * 100 // s["ImageTotal"] if s["ImageTotal"] else 100)
        history.append(s)
        if s["Status"] == "END":
            return s, history
        time.sleep(interval)
    raise AssertionError(f"task {task_id} did not end: {history[-1]}")


def error_code(fn):
    with pytest.raises(TencentCloudSDKException) as e:
        fn()
    return e.value.get_code()


def schema_fields(obj):
    members = OBJECTS[obj]["members"]
    return {m["name"] for m in members}, {m["name"] for m in members if m.get("output_required")}


def assert_schema(item, obj):
    allowed, required = schema_fields(obj)
    assert set(item) <= allowed, set(item) - allowed
    assert required <= set(item), required - set(item)


def no_secrets(*responses):
    text = json.dumps(responses)
    for v in PLANTS["secret_values"]:
        for line in v.split("\n"):
            if len(line) > 8:
                assert line not in text, "a secret value came back unmasked"


def cli_scan(data_dir, image_id, scanners="virus,risk", tmp=None):
    out = subprocess.run([shipshape_bin(), "image", "scan", f"docker:{image_id}", "--scanners", scanners, "--format", "json",
                          "--cache-dir", str(tmp or data_dir / "cli-cache"), "--data-dir", str(data_dir)],
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_image_list_fields(server, call):
    image_id = docker_image_id()
    row = wait_image(call, image_id)
    assert_schema(row, "ImagesInfo")
    assert row["ImageID"] == image_id and row["ImageName"] == IMAGE
    assert row["Size"] > 0 and row["ScanStatus"] in ("NOT_SCAN", "SCANNED", "SCANNING", "SCAN_ERR")
    # Name filter, fuzzy and exact; paging; bad sort field.
    assert call("DescribeAssetImageList", {"Filters": [{"Name": "ImageName", "Values": ["BOOKWORM"]}]})["TotalCount"] >= 1
    assert call("DescribeAssetImageList", {"Filters": [{"Name": "ImageName", "Values": ["bookworm"], "ExactMatch": True}]})["TotalCount"] == 0
    assert call("DescribeAssetImageList", {"Limit": 1, "Offset": 10_000})["List"] == []
    assert error_code(lambda: call("DescribeAssetImageList", {"By": "Nope"})) == "InvalidParameter"
    assert error_code(lambda: call("DescribeAssetImageList", {"Limit": 101})) == "InvalidParameter"
    assert error_code(lambda: call("DescribeAssetImageList", {"Filters": [{"Name": "Bogus", "Values": ["x"]}]})) == "InvalidParameter"


def test_create_errors_change_nothing(server, call):
    image_id = docker_image_id()
    wait_image(call, image_id)
    assert error_code(lambda: call("CreateAssetImageScanTask", {"All": True})) == "InvalidParameter"
    assert error_code(lambda: call("CreateAssetImageScanTask", {"Images": ["sha256:" + "0" * 64], "ScanRisk": True})) == "ResourceNotFound"
    assert error_code(lambda: call("CreateAssetImageScanTask", {"Images": ["nope/never:1"], "ScanRisk": True})) == "ResourceNotFound"
    # No advisory data was imported into this server: vulnerability scanning says how to load it.
    e = None
    try:
        call("CreateAssetImageScanTask", {"All": True, "ScanVul": True})
    except TencentCloudSDKException as ex:
        e = ex
    assert e is not None and e.get_code() == "FailedOperation" and "db import" in e.get_message()
    assert error_code(lambda: call("DescribeAssetImageScanStatus", {})) == "ResourceNotFound"
    assert error_code(lambda: call("DescribeAssetImageScanTask", {})) == "ResourceNotFound"
    assert error_code(lambda: call("DescribeAssetImageScanStatus", {"TaskID": "nope"})) == "ResourceNotFound"
    assert error_code(lambda: call("DescribeAssetImageVulList", {"ImageID": "sha256:" + "0" * 64})) == "ResourceNotFound"


def test_scan_all_results_match_cli(server, call, tccli, tmp_path):
    image_id = docker_image_id()
    wait_image(call, image_id)
    r = call("CreateAssetImageScanTask", {"All": True, "ScanVirus": True, "ScanRisk": True})
    task = r["TaskID"]
    assert isinstance(task, str) and task
    last, history = poll_until_end(call, task)
    assert last["Schedule"] == 100 and last["ImageScanCnt"] == last["ImageTotal"] >= 1
    assert last["SuccessCount"] == last["ImageTotal"] and last["LeftSeconds"] == 0
    # Without TaskID: the latest task.
    latest = call("DescribeAssetImageScanStatus", {})
    assert {k: v for k, v in latest.items() if k != "RequestId"} == {k: v for k, v in last.items() if k != "RequestId"}
    t = call("DescribeAssetImageScanTask", {})
    assert (t["TaskID"], t["Status"], t["SubStatus"]) == (task, "END", "Success")

    viruses = call("DescribeAssetImageVirusList", {"ImageID": image_id, "Limit": 100})
    risks = call("DescribeAssetImageRiskList", {"ImageID": image_id, "Limit": 100})
    detail = call("DescribeAssetImageDetail", {"ImageID": image_id})
    for v in viruses["List"]:
        assert_schema(v, "ImageVirusInfo")
    for x in risks["List"]:
        assert_schema(x, "ImageRiskInfo")
    virus_paths = {v["Path"].split("!/")[0] for v in viruses["List"]}
    assert set(PLANTS["virus_paths"]) <= virus_paths, virus_paths
    descs = " ".join(x["Desc"] for x in risks["List"])
    for p in PLANTS["risk_paths"] + PLANTS["deleted_risk_paths"]:
        assert p in descs, p
    assert any(x["Behavior"] == 2 for x in risks["List"]), "a deleted file's secret is reported as deleted"
    assert viruses["VirusScanStatus"] == 2
    assert detail["VirusCnt"] == viruses["TotalCount"] and detail["RiskCnt"] == risks["TotalCount"]
    assert detail["ScanStatus"] == "SCANNED" and detail["ImageID"] == image_id
    no_secrets(viruses, risks, detail, call("DescribeAssetImageList", {"Limit": 100}))
    # RiskCount of the task counts the findings of its images (this server holds one image here or more).
    assert last["RiskCount"] >= viruses["TotalCount"] + risks["TotalCount"]

    # The CLI's scanners find the same on the same image.
    cli = cli_scan(tmp_path / "cli", image_id)
    assert len(cli["malware"]) == viruses["TotalCount"]
    assert len(cli["risks"]) == risks["TotalCount"]

    # Paging and sorting of results.
    page1 = call("DescribeAssetImageRiskList", {"ImageID": image_id, "Limit": 2, "Offset": 0, "By": "Level", "Order": "DESC"})
    assert page1["TotalCount"] == risks["TotalCount"] and len(page1["List"]) == min(2, risks["TotalCount"])
    assert [x["Level"] for x in page1["List"]] == sorted([x["Level"] for x in page1["List"]], reverse=True)
    lvl = call("DescribeAssetImageRiskList", {"ImageID": image_id, "Filters": [{"Name": "Level", "Values": ["4"]}], "Limit": 100})
    assert all(x["Level"] == 4 for x in lvl["List"])

    # tccli sees the same status.
    out = tccli("DescribeAssetImageScanStatus", "--TaskID", task)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["Schedule"] == 100


def dedicated(tmp_path, name, env=None):
    srv = Server("sqlite", tmp_path / name)
    if env:
        old = dict(os.environ)
        os.environ.update(env)
        try:
            srv.start()
        finally:
            os.environ.clear()
            os.environ.update(old)
    else:
        srv.start()
    return srv


def test_already_scanning_and_stop(tmp_path):
    image_id = docker_image_id()
    srv = dedicated(tmp_path, "stop")
    try:
        call = make_call(srv.endpoint, srv.first_key())
        wait_image(call, image_id)
        # A cold cache and the trojan scanner: the scan takes long enough to overlap.
        task = call("CreateAssetImageScanTask", {"All": True, "ScanVirus": True, "ScanRisk": True})["TaskID"]
        assert error_code(lambda: call("CreateAssetImageScanTask", {"All": True, "ScanRisk": True})) == "FailedOperation.ErrAlreadyScanning"
        deadline = time.time() + 60
        while call("DescribeAssetImageScanStatus", {"TaskID": task})["Status"] == "READY" and time.time() < deadline:
            time.sleep(0.05)
        assert call("ModifyAssetImageScanStop", {"TaskID": task})["Status"] == "SUCCESS"
        s = call("DescribeAssetImageScanStatus", {"TaskID": task})
        assert s["Status"] == "END" and s["LeftSeconds"] == 0
        t = call("DescribeAssetImageScanTask", {})
        assert (t["TaskID"], t["SubStatus"]) == (task, "Cancel")
        # The worker lets go of the image within a second: a new task can start and finish.
        task2 = call("CreateAssetImageScanTask", {"All": True, "ScanRisk": True})["TaskID"]
        assert task2 != task
        last, _ = poll_until_end(call, task2)
        assert last["SuccessCount"] == last["ImageTotal"]
        # The stop reached the running scan: its worker cancelled it, or dropped its result (claim lost).
        assert "image scan cancelled" in srv.log() or "claim lost (task stopped)" in srv.log(), srv.log()[-2000:]
        # Stopping an ended task changes nothing. (In a new second: the same signed request twice within one
        # second carries the same signature, which a mutating action accepts once, api::replay.)
        time.sleep(1)
        assert call("ModifyAssetImageScanStop", {"TaskID": task})["Status"] == "SUCCESS"
        assert call("DescribeAssetImageScanTask", {})["TaskID"] == task2
    finally:
        srv.stop()


def test_kill9_resumes_without_loss_or_duplicates(tmp_path):
    image_id = docker_image_id()
    srv = dedicated(tmp_path, "kill")
    try:
        call = make_call(srv.endpoint, srv.first_key())
        wait_image(call, image_id)
        task = call("CreateAssetImageScanTask", {"All": True, "ScanVirus": True, "ScanRisk": True})["TaskID"]
        deadline = time.time() + 60
        while call("DescribeAssetImageScanStatus", {"TaskID": task})["Status"] == "READY" and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait()
        srv.proc = None
        srv.start()
        call = make_call(srv.endpoint, srv.first_key())
        last, _ = poll_until_end(call, task, timeout=900)
        assert last["SuccessCount"] == last["ImageTotal"] and last["Schedule"] == 100
        viruses = call("DescribeAssetImageVirusList", {"ImageID": image_id, "Limit": 100})
        risks = call("DescribeAssetImageRiskList", {"ImageID": image_id, "Limit": 100})
        cli = cli_scan(tmp_path / "cli", image_id)
        assert viruses["TotalCount"] == len(cli["malware"]) > 0
        assert risks["TotalCount"] == len(cli["risks"]) > 0
    finally:
        srv.stop()


def next_minute_slot(ahead=30):
    """The first whole minute at least `ahead` s from now, as ScanTime (HH:MM, UTC) and as a Unix time."""
    t = (datetime.now(timezone.utc) + timedelta(seconds=ahead + 59)).replace(second=0, microsecond=0)
    return t.strftime("%H:%M"), t.timestamp()


def test_scheduler_fires_once_and_after_restart(tmp_path):
    """A slot that passes while the server is down runs once when it starts, and not again after a restart.
    No test clock (the schedulers read the real time in every build): the slot is the next whole minute, waited
    for; the arithmetic of slots (periods, several missed days) is unit-tested in scan::schedule."""
    image_id = docker_image_id()
    srv = dedicated(tmp_path, "sched")
    try:
        call = make_call(srv.endpoint, srv.first_key())
        wait_image(call, image_id)
        at, due = next_minute_slot()
        call("CreateAssetImageScanSetting", {"Enable": True, "ScanTime": at, "ScanPeriod": 1, "ScanVirus": False,
                                             "ScanRisk": True, "ScanVul": False})
        time.sleep(2)
        with pytest.raises(TencentCloudSDKException):
            call("DescribeAssetImageScanTask", {})  # no task yet: the slot is still ahead
    finally:
        srv.stop()
    time.sleep(max(0.0, due - time.time()) + 1)
    srv.start()
    try:
        call = make_call(srv.endpoint, srv.first_key())
        deadline = time.time() + 60
        task = None
        while time.time() < deadline:
            try:
                task = call("DescribeAssetImageScanTask", {})["TaskID"]
                break
            except TencentCloudSDKException:
                time.sleep(0.5)
        assert task, "the slot missed while the server was down did not run"
        poll_until_end(call, task)
        deadline = time.time() + 30
        while time.time() < deadline and call("DescribeAssetImageScanSetting", {}).get("ScanResult") is None:
            time.sleep(0.5)
        s = call("DescribeAssetImageScanSetting", {})
        assert s["ScanResult"] == "Success" and s["LastScanTime"]
        time.sleep(3)
        assert call("DescribeAssetImageScanTask", {})["TaskID"] == task, "fired twice for one slot"
    finally:
        srv.stop()
    # Restarted: the slot was fired, nothing runs again.
    srv.start()
    try:
        call = make_call(srv.endpoint, srv.first_key())
        time.sleep(3)
        assert call("DescribeAssetImageScanTask", {})["TaskID"] == task, "the same slot fired again after a restart"
    finally:
        srv.stop()


def test_advisory_update_rematches_stored_images_without_rescan(tmp_path):
    """`shipshape db import` while the server runs: stored content reports are re-matched against the new
    data (no new task, no image read) and the vulnerability list grows to what a fresh scan finds."""
    image_id = docker_image_id()
    srv = Server("sqlite", tmp_path / "rematch")
    srv.data_dir.mkdir(parents=True)
    srv.cli("db", "import", str(SHARED / "vulndata" / "osv" / "PyPI"))
    srv.start()
    try:
        call = make_call(srv.endpoint, srv.first_key())
        wait_image(call, image_id)
        task = call("CreateAssetImageScanTask", {"All": True, "ScanVul": True})["TaskID"]
        poll_until_end(call, task)
        first = call("DescribeAssetImageVulList", {"ImageID": image_id, "Limit": 100})["TotalCount"]
        assert first > 0

        out = srv.cli("db", "import", str(SHARED / "vulndata"), check=False)
        assert out.returncode == 0, out.stderr
        want = len(cli_scan(srv.data_dir, image_id, scanners="vuln", tmp=tmp_path / "cache")["vulnerabilities"])
        assert want > first
        deadline, total = time.time() + 60, first
        while time.time() < deadline:
            total = call("DescribeAssetImageVulList", {"ImageID": image_id, "Limit": 100})["TotalCount"]
            if total == want:
                break
            time.sleep(0.5)
        assert total == want, f"re-match gave {total}, a fresh scan {want}"
        assert call("DescribeAssetImageScanTask", {})["TaskID"] == task, "a new task ran"
        assert "re-matched stored images" in srv.log()
        check_vul_fields_from_data(call, image_id, cli_scan(srv.data_dir, image_id, scanners="vuln", tmp=tmp_path / "cache"))
    finally:
        srv.stop()


def check_vul_fields_from_data(call, image_id, cli):
    """SubmitTime, Des, Category, CategoryType and AttackLevel come from each advisory (module doc of
    crates/service/src/images.rs), the same as the CLI's JSON for the same finding."""
    rows = []
    while True:
        page = call("DescribeAssetImageVulList", {"ImageID": image_id, "Limit": 100, "Offset": len(rows)})
        rows += page["List"]
        if len(rows) >= page["TotalCount"]:
            break
    by_key = {}
    for f in cli["vulnerabilities"]:
        by_key.setdefault((f["display_id"], f["package"]["name"], f["package"]["version"]), []).append(f)
    attack = {"N": 3, "A": 2, "L": 1, "P": 1}

    def expected(f):
        av = next((m.split(":")[1][0] for m in (f.get("cvss_vector") or "").split("/") if m.startswith("AV:")), None)
        os_pkg = f["package"]["ecosystem"] in ("Debian", "Alpine", "Rpm")
        return {
            "SubmitTime": f.get("published") or "",
            "Category": ",".join(f.get("cwes", [])),
            "CategoryType": "SYSTEM" if os_pkg else "APPLICATION",
            "AttackLevel": attack.get(av, 0),
            **({"Des": f["description"].strip()} if f.get("description", "").strip() else {}),
        }

    for r in rows:
        assert_schema(r, "ImagesVul")
        wants = [expected(f) for f in by_key[(r["CVEID"], r["Component"], r["Version"])]]
        assert any(all(r[k] == v for k, v in w.items()) for w in wants), (r, wants)
    # Not silent constants: the corpus has dates, texts, CWEs, network vectors and OS packages.
    assert any(r["SubmitTime"] for r in rows) and any(r["AttackLevel"] == 3 for r in rows)
    assert any(r["Category"].startswith("CWE-") for r in rows), "a GHSA record names CWEs"
    assert {r["CategoryType"] for r in rows} == {"SYSTEM", "APPLICATION"}
