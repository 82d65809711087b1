"""Registries over the API (AddAssetImageRegistryRegistryDetail and the registry image actions) through
the official Python SDK (CommonClient and typed models), tccli and the Node SDK, against the real
registries of scripts/services.sh (anonymous :5000, basic auth :5001).

A registry added over the API is synced into per-(registry, repo, tag) rows and its images join the
inventory; its scans run on the image scan queue with the same engine, so the registry lists show the
same findings as the local image actions for the same image id.
"""
import json
import os
from datetime import datetime, timedelta, timezone
import subprocess
import time
import uuid

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.tcss.v20201101 import models

from conftest import REPO, Server, make_call, make_tcss
from test_image_registry import ANON, AUTH, PASSWORD, USER, closed_port, need_registries, push_registry_only
from test_image_scan import IMAGE, SHARED, assert_schema, cli_scan, docker_image_id, error_code, no_secrets, wait_image

SCHEMA = SHARED / "spec" / "schema"


def assert_response(resp, action):
    """Every field the schema declares for the action, nothing else; required ones present."""
    members = json.loads((SCHEMA / f"{action}.json").read_text())["response"]
    allowed = {m["name"] for m in members}
    required = {m["name"] for m in members if m.get("output_required")}
    assert set(resp) <= allowed, set(resp) - allowed
    assert required <= set(resp), required - set(resp)


def wait_for(pred, what, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def add(call, name, url, username="", password="", **extra):
    return call("AddAssetImageRegistryRegistryDetail", {"Name": name, "Username": username, "Password": password, "Url": url,
                                                        "RegistryType": extra.pop("RegistryType", "harbor"), "NetType": "public", **extra})


def synced(call):
    """Waits for the account's syncs to end; returns the status."""
    return wait_for(lambda: (lambda s: s if s["Status"] != "doing" else None)(call("DescribeAssetImageRegistryAssetStatus", {})),
                    "the registry sync to end")


def rows(call, **filters):
    fs = [{"Name": k, "Values": [v], "ExactMatch": True} for k, v in filters.items()]
    return call("DescribeAssetImageRegistryList", {"Limit": 100, "Filters": fs})


def poll_registry_task(call, task_id, timeout=600):
    """Polls DescribeAssetImageRegistryScanStatusOneKey to END; Schedule never decreases."""
    history, deadline = [], time.time() + timeout
    while time.time() < deadline:
        s = call("DescribeAssetImageRegistryScanStatusOneKey", {"TaskID": task_id})
        assert_response(s, "DescribeAssetImageRegistryScanStatusOneKey")
        if history:
            assert s["Schedule"] >= history[-1]["Schedule"] and s["ImageScanCnt"] >= history[-1]["ImageScanCnt"]
        history.append(s)
        if s["Status"] == "END":
            return s
        time.sleep(0.3)
    raise AssertionError(f"registry task {task_id} did not end: {history[-1]}")


def without_request_id(r):
    return {k: v for k, v in r.items() if k != "RequestId"}


@pytest.fixture
def regonly(tmp_path):
    """An image only in the auth registry, in a repository of its own (planted AWS keys in /app/.env)."""
    need_registries()
    repo = f"shipshape-e2e/regapi-{uuid.uuid4().hex[:10]}"
    remote, image_id = push_registry_only(tmp_path, repo, "1")
    return repo, remote, image_id


def test_add_sync_scan_one_key_remove(server, account, call, regonly):
    repo, remote, image_id = regonly
    r = add(call, "auth", f"http://{AUTH}", USER, PASSWORD, RegistryType="jfrog")
    assert_response(r, "AddAssetImageRegistryRegistryDetail")
    assert r["RegistryId"] > 0 and r["HealthCheckErr"] == "" and r["NameRepeatErr"] == ""
    reg_id = r["RegistryId"]
    # The add requests a sync; an explicit one is accepted too.
    call("SyncAssetImageRegistryAsset", {"RegistryIds": [reg_id]})
    st = synced(call)
    assert_response(st, "DescribeAssetImageRegistryAssetStatus")
    assert st["Status"] == "success" and st["Err"] == "" and st["LatestSyncSuccessTime"]

    listing = wait_for(lambda: rows(call, ImageName=repo)["List"], f"{repo} in the registry list")
    assert len(listing) == 1
    row = listing[0]
    assert_schema(row, "ImageRepoInfo")
    assert (row["ImageId"], row["ImageTag"], row["ImageRepoAddress"]) == (image_id, "1", f"{AUTH}/{repo}")
    assert (row["InstanceName"], row["RegistryType"], row["Namespace"], row["ScanStatus"]) == ("auth", "jfrog", "shipshape-e2e", "NOT_SCAN")
    assert row["IsLatestImage"] is True and row["ImageSize"] > 0
    # Its image joined the inventory: the local image list shows it under its registry name.
    wait_image(call, image_id)

    detail = call("DescribeAssetImageRegistryDetail", {"Id": row["Id"]})
    assert_response(detail, "DescribeAssetImageRegistryDetail")
    assert detail["ImageId"] == image_id and detail["Id"] == row["Id"]
    reg = call("DescribeAssetImageRegistryRegistryDetail", {"RegistryId": reg_id})
    assert_response(reg, "DescribeAssetImageRegistryRegistryDetail")
    assert reg["Password"] == "" and reg["Username"] == USER and PASSWORD not in json.dumps(reg)
    assert reg["ConnDetectDetail"][0]["ConnDetectStatus"] == "status_success"
    regs = call("DescribeAssetImageRegistryRegistryList", {})
    assert_response(regs, "DescribeAssetImageRegistryRegistryList")
    for x in regs["List"]:
        assert_schema(x, "ImageRepoRegistryInfo")
        for d in x["ConnDetectDetail"]:
            assert_schema(d, "RegistryConnDetectResult")
    assert PASSWORD not in json.dumps(regs)
    ns = call("DescribeImageRegistryNamespaceList", {"Filters": [{"Name": "Namespace", "Values": ["shipshape-e2e"], "ExactMatch": True}]})
    assert_response(ns, "DescribeImageRegistryNamespaceList")
    assert ns["NamespaceList"] == ["shipshape-e2e"] and ns["NamespaceDetail"][0]["ImageCnt"] >= 1
    summary = call("DescribeAssetImageRegistrySummary", {"Filters": [{"Name": "ImageName", "Values": [repo], "ExactMatch": True}]})
    assert summary["UnScannedImageCnt"] == 1

    # One-key scan of that row: one image, read from the registry.
    task = call("CreateAssetImageRegistryScanTaskOneKey", {"Id": [row["Id"]], "ScanType": ["RISK", "VIRUS"]})["TaskID"]
    assert isinstance(task, int) and task > 0
    last = poll_registry_task(call, task)
    assert (last["ImageTotal"], last["ImageScanCnt"], last["Schedule"], last["RiskCount"], last["SuccessCount"]) == (1, 1, 100, 1, 0)
    assert [x["ScanStatus"] for x in last["ImageStatus"]] == ["SCANNED"]
    for x in last["ImageStatus"]:
        assert_schema(x, "ImageProgress")
    assert f'Registry {{ reference: "{AUTH}/{repo}@' in server.log()

    # Results: the local image actions' for the same image id, in the registry shapes.
    risks = call("DescribeAssetImageRegistryRiskInfoList", {"Id": row["Id"], "Limit": 100})
    local_risks = call("DescribeAssetImageRiskList", {"ImageID": image_id, "Limit": 100})
    assert risks["TotalCount"] == local_risks["TotalCount"] >= 1
    assert [(x["Desc"], x["Type"], x["Behavior"], int(x["Level"])) for x in risks["List"]] == \
        [(x["Desc"], x["Type"], x["Behavior"], x["Level"]) for x in local_risks["List"]]
    assert any("/app/.env" in x["Desc"] for x in risks["List"])
    for x in risks["List"]:
        assert_schema(x, "ImageRisk")
    by_info = call("DescribeAssetImageRegistryRiskInfoList", {"ImageInfo": {"ImageName": repo, "ImageTag": "1", "InstanceName": "auth",
                                                                            "Namespace": "", "Force": ""}})
    assert by_info["TotalCount"] == risks["TotalCount"]
    viruses = call("DescribeAssetImageRegistryVirusList", {"Id": row["Id"], "Limit": 100})
    assert viruses["TotalCount"] == call("DescribeAssetImageVirusList", {"ImageID": image_id})["TotalCount"]
    vuls = call("DescribeAssetImageRegistryVulList", {"Id": row["Id"], "Filters": [{"Name": "Level", "Values": ["all"]}]})
    assert vuls["TotalCount"] == 0
    no_secrets(risks, viruses, by_info)
    row = rows(call, ImageName=repo)["List"][0]
    assert (row["ScanStatus"], row["RiskStatus"], row["VirusStatus"], row["CveStatus"]) == ("SCANNED", "SCANNED", "SCANNED", "NOT_SCAN")
    assert row["RiskCnt"] == risks["TotalCount"] and row["SentiveInfoCnt"] == row["RiskCnt"]
    local = call("DescribeAssetImageList", {"Filters": [{"Name": "ImageID", "Values": [image_id], "ExactMatch": True}]})["List"][0]
    assert (local["ScanStatus"], local["RiskCnt"]) == ("SCANNED", row["RiskCnt"])

    # Removed: its rows and its (registry-only) image leave both lists; results of other images stay.
    call("RemoveAssetImageRegistryRegistryDetail", {"RegistryId": reg_id})
    assert rows(call, ImageName=repo)["TotalCount"] == 0
    assert call("DescribeAssetImageList", {"Filters": [{"Name": "ImageID", "Values": [image_id], "ExactMatch": True}]})["TotalCount"] == 0
    assert error_code(lambda: call("DescribeAssetImageRegistryRegistryDetail", {"RegistryId": reg_id})) == "ResourceNotFound"
    assert error_code(lambda: call("DescribeAssetImageRegistryRiskInfoList", {"Id": row["Id"]})) == "ResourceNotFound"


def test_wrong_password_and_unreachable_registry_show_in_connection_status(server, account, call):
    need_registries()
    bad = add(call, "wrong-password", f"http://{AUTH}", USER, "not-the-password")
    assert bad["RegistryId"] > 0 and "401" in bad["HealthCheckErr"]
    dead = add(call, "down", f"http://127.0.0.1:{closed_port()}", RegistryType="other")
    assert dead["RegistryId"] > 0 and dead["HealthCheckErr"]
    good = add(call, "anon", f"http://{ANON}", RegistryType="other")
    assert good["HealthCheckErr"] == ""
    st = synced(call)
    assert st["Status"] == "failed" and "wrong-password" in st["Err"] and "down" in st["Err"]
    # The list answers; each registry carries its own status.
    by_name = {x["Name"]: x for x in call("DescribeAssetImageRegistryRegistryList", {"Limit": 100})["List"]}
    auth = by_name["wrong-password"]["ConnDetectDetail"][0]
    assert auth["ConnDetectStatus"] == "status_auth_failed" and "401" in auth["FailReason"] and auth["Solution"]
    assert by_name["down"]["ConnDetectDetail"][0]["ConnDetectStatus"] == "status_conn_failed"
    assert by_name["anon"]["ConnDetectDetail"][0]["ConnDetectStatus"] == "status_success"
    assert by_name["wrong-password"]["SyncStatus"] == "failed" and by_name["anon"]["SyncStatus"] == "success"
    # The anonymous registry's images are listed whatever the others do.
    wait_for(lambda: rows(call, ImageName="shipshape-test/bookworm-app", InstanceName="anon")["List"], "the anonymous registry's image")
    only = call("DescribeAssetImageRegistryRegistryList", {"Filters": [{"Name": "ConnDetectStatus", "Values": ["status_auth_failed"]}]})
    assert [x["Name"] for x in only["List"]] == ["wrong-password"]

    # The right password: fixed, synced. (An empty Password with the same Username keeps the stored one.)
    fixed = call("UpdateAssetImageRegistryRegistryDetail", {"RegistryId": bad["RegistryId"], "Name": "fixed", "Username": USER,
                                                            "Password": PASSWORD, "Url": f"http://{AUTH}", "RegistryType": "harbor",
                                                            "NetType": "public"})
    assert fixed["HealthCheckErr"] == "" and fixed["RegistryId"] == bad["RegistryId"]
    call("RemoveAssetImageRegistryRegistryDetail", {"RegistryId": dead["RegistryId"]})
    st = synced(call)
    assert st["Status"] == "success", st
    wait_for(lambda: rows(call, InstanceName="fixed")["TotalCount"] > 0, "the fixed registry's images")
    kept = call("UpdateAssetImageRegistryRegistryDetail", {"RegistryId": bad["RegistryId"], "Name": "fixed", "Username": USER,
                                                           "Password": "", "Url": f"http://{AUTH}", "RegistryType": "harbor",
                                                           "NetType": "public", "SyncMode": 1})
    assert kept["HealthCheckErr"] == ""


def test_bad_input_gets_the_contract_code_and_changes_nothing(server, account, call):
    ok = {"Name": "n", "Username": "", "Password": "", "Url": "http://reg.invalid:5000", "RegistryType": "harbor", "NetType": "public"}
    cases = [
        ({**ok, "Url": "ftp://x"}, "InvalidParameter.InvalidFormat"),
        ({**ok, "Url": "http://reg/with/path"}, "InvalidParameter.InvalidFormat"),
        ({**ok, "RegistryType": "nexus"}, "InvalidParameterValue"),
        ({**ok, "NetType": "moon"}, "InvalidParameterValue"),
        ({**ok, "Insecure": 7}, "InvalidParameterValue"),
        ({**ok, "SpeedLimit": -5}, "InvalidParameterValue"),
        ({**ok, "SyncMode": 2}, "InvalidParameterValue"),
        ({**ok, "Name": "file:reg"}, "InvalidParameterValue"),
        ({**ok, "Username": "u"}, "InvalidParameter.MissingParameter"),
        ({**ok, "Name": ""}, "InvalidParameter.MissingParameter"),
        ({k: v for k, v in ok.items() if k != "Url"}, "InvalidParameter.MissingParameter"),
        ({**ok, "Bogus": 1}, "UnknownParameter"),
        ({**ok, "Insecure": "yes"}, "InvalidParameter"),
    ]
    for body, code in cases:
        assert error_code(lambda: call("AddAssetImageRegistryRegistryDetail", body)) == code, body
    assert call("DescribeAssetImageRegistryRegistryList", {})["TotalCount"] == 0
    assert error_code(lambda: call("RemoveAssetImageRegistryRegistryDetail", {"RegistryId": 987654321})) == "ResourceNotFound"
    assert error_code(lambda: call("SyncAssetImageRegistryAsset", {"RegistryIds": [987654321]})) == "ResourceNotFound"
    assert error_code(lambda: call("SyncAssetImageRegistryAsset", {})) == "InvalidParameter.MissingParameter"
    assert error_code(lambda: call("CheckRepeatAssetImageRegistry", {"Name": ""})) == "InvalidParameter.MissingParameter"
    assert error_code(lambda: call("DescribeAssetImageRegistryList", {"By": "Nope"})) == "InvalidParameter"
    assert error_code(lambda: call("DescribeAssetImageRegistryList", {"Limit": 101})) == "InvalidParameter"
    assert error_code(lambda: call("DescribeAssetImageRegistryList", {"Filters": [{"Name": "Bogus", "Values": ["x"]}]})) == "InvalidParameter"
    assert error_code(lambda: call("DescribeAssetImageRegistryDetail", {})) == "InvalidParameter.MissingParameter"
    assert error_code(lambda: call("DescribeAssetImageRegistryDetail", {"Id": 987654321})) == "ResourceNotFound"
    assert error_code(lambda: call("DescribeAssetImageRegistryVulList", {"Id": 987654321})) == "ResourceNotFound"
    assert error_code(lambda: call("DescribeAssetImageRegistryVirusList", {})) == "InvalidParameter.MissingParameter"
    assert error_code(lambda: call("CreateAssetImageRegistryScanTaskOneKey", {"Id": [987654321]})) == "ResourceNotFound"
    assert error_code(lambda: call("CreateAssetImageRegistryScanTaskOneKey", {"ScanType": ["TROJAN"]})) == "InvalidParameter"
    assert error_code(lambda: call("CreateAssetImageRegistryScanTask", {"ScanType": ["RISK"]})) == "InvalidParameter.MissingParameter"
    # No registry image at all: nothing to scan.
    assert error_code(lambda: call("CreateAssetImageRegistryScanTask", {"All": True, "ScanType": ["RISK"]})) == "ResourceNotFound"
    # No vulnerability data in this server: CVE scans say how to load it.
    e = None
    try:
        call("CreateAssetImageRegistryScanTaskOneKey", {"ScanType": ["CVE"]})
    except TencentCloudSDKException as ex:
        e = ex
    assert e is not None and e.get_code() in ("FailedOperation", "ResourceNotFound")
    assert error_code(lambda: call("DescribeAssetImageRegistryScanStatusOneKey", {})) == "ResourceNotFound"
    assert error_code(lambda: call("ModifyAssetImageRegistryScanStopOneKey", {"TaskID": 42})) == "ResourceNotFound"
    for body, code in [
        ({"Enable": True, "ScanTime": "24:00", "ScanPeriod": 1}, "InvalidParameter.InvalidFormat"),
        ({"Enable": True, "ScanTime": "01:00", "ScanPeriod": 0}, "InvalidParameter.InvalidFormat"),
        ({"Enable": True, "ScanTime": "01:00", "ScanPeriod": 1, "ScanScope": 1}, "InvalidParameter.MissingParameter"),
        ({"Enable": True, "ScanTime": "01:00"}, "InvalidParameter.MissingParameter"),
    ]:
        assert error_code(lambda: call("UpdateImageRegistryTimingScanTask", body)) == code, body
    d = call("DescribeImageRegistryTimingScanTask", {})
    assert_response(d, "DescribeImageRegistryTimingScanTask")
    assert d["Enable"] is False and "LastScanTime" not in d


def test_typed_sdk_tccli_and_node_parse_the_responses(server, account, call, tccli, node_call):
    need_registries()
    tcss = make_tcss(server.endpoint, account)
    req = models.AddAssetImageRegistryRegistryDetailRequest()
    req.from_json_string(json.dumps({"Name": "typed", "Username": USER, "Password": PASSWORD, "Url": f"http://{AUTH}",
                                     "RegistryType": "quay", "NetType": "public", "SpeedLimit": 50, "Insecure": 0,
                                     "ConnDetectConfig": [{"Quuid": "q-1", "Uuid": "u-1"}], "NeedScan": False, "SyncMode": 0}))
    added = tcss.AddAssetImageRegistryRegistryDetail(req)
    assert added.RegistryId > 0 and added.HealthCheckErr == ""
    synced(call)
    wait_for(lambda: rows(call, InstanceName="typed")["TotalCount"] > 0, "the typed registry's images")

    req = models.DescribeAssetImageRegistryListRequest()
    req.from_json_string(json.dumps({"Limit": 5, "OnlyShowLatest": True, "By": "ImageName", "Order": "DESC"}))
    lst = tcss.DescribeAssetImageRegistryList(req)
    assert lst.TotalCount >= 1 and lst.List[0].Id > 0 and lst.List[0].InstanceName == "typed"
    reqs = models.DescribeAssetImageRegistryRegistryListRequest()
    regs = tcss.DescribeAssetImageRegistryRegistryList(reqs)
    assert regs.List[0].ConnDetectDetail[0].ConnDetectStatus == "status_success" and regs.List[0].RegistryType == "quay"
    d = models.DescribeAssetImageRegistryRegistryDetailRequest()
    d.RegistryId = added.RegistryId
    det = tcss.DescribeAssetImageRegistryRegistryDetail(d)
    assert det.SpeedLimit == 50 and det.Password == ""
    ns = tcss.DescribeImageRegistryNamespaceList(models.DescribeImageRegistryNamespaceListRequest())
    assert ns.TotalCount == len(ns.NamespaceList) or ns.TotalCount > 10
    timing = tcss.DescribeImageRegistryTimingScanTask(models.DescribeImageRegistryTimingScanTaskRequest())
    assert timing.Enable is False
    status = tcss.DescribeAssetImageRegistryAssetStatus(models.DescribeAssetImageRegistryAssetStatusRequest())
    assert status.Status == "success"

    out = tccli("DescribeAssetImageRegistryList", "--Limit", "2", "--Filters",
                json.dumps([{"Name": "InstanceName", "Values": ["typed"], "ExactMatch": True}]))
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["TotalCount"] >= 1 and len(got["List"]) <= 2
    out = tccli("CheckRepeatAssetImageRegistry", "--Name", "typed")
    assert out.returncode == 0 and json.loads(out.stdout)["IsRepeat"] is True, out.stderr
    out = tccli("AddAssetImageRegistryRegistryDetail", "--Name", "x", "--Username", "u", "--Password", "p", "--Url", "http://r",
                "--RegistryType", "nexus", "--NetType", "public")
    assert out.returncode == 255 and "code:InvalidParameterValue" in out.stderr + out.stdout

    n = node_call("DescribeAssetImageRegistryRegistryList", {"Limit": 10})
    assert n["ok"] and n["response"]["List"][0]["Name"] == "typed", n
    n = node_call("DescribeAssetImageRegistryList", {"Limit": 3, "Filters": [{"Name": "IsAuthorized", "Values": ["all"]}]})
    assert n["ok"] and n["response"]["TotalCount"] >= 1
    n = node_call("UpdateImageRegistryTimingScanTask", {"Enable": False, "ScanTime": "02:00", "ScanPeriod": 3, "ScanType": ["RISK"]})
    assert n["ok"], n
    n = node_call("DescribeImageRegistryTimingScanTask", {})
    assert n["ok"] and n["response"]["ScanPeriod"] == 3 and n["response"]["ScanType"] == ["RISK"]
    n = node_call("RemoveAssetImageRegistryRegistryDetail", {"RegistryId": 987654321})
    assert not n["ok"] and n["code"] == "ResourceNotFound"


def test_registry_scan_equals_the_local_scan_and_the_cli(tmp_path):
    """bookworm-app is in dockerd and in the anonymous registry under the same image id: scanned from the
    registry with every scanner (Debian data loaded), the registry lists equal the local lists, and the
    trojan and secret findings equal the CLI scanners' on the engine's copy."""
    need_registries()
    image_id = docker_image_id()
    srv = Server("sqlite", tmp_path / "equal")
    srv.data_dir.mkdir(parents=True)
    srv.cli("db", "import", str(SHARED / "vulndata" / "osv" / "Debian"))
    srv.start()
    try:
        call = make_call(srv.endpoint, srv.first_key())
        wait_image(call, image_id)
        reg = add(call, "anon", f"http://{ANON}", RegistryType="other")["RegistryId"]
        synced(call)
        row = wait_for(lambda: rows(call, ImageName=IMAGE.split(":")[0], InstanceName="anon")["List"], "bookworm-app in the registry list")[0]
        assert row["ImageId"] == image_id and row["ImageTag"] == "1"
        task = call("CreateAssetImageRegistryScanTaskOneKey", {"Id": [row["Id"]]})["TaskID"]
        last = poll_registry_task(call, task, timeout=900)
        assert last["ImageScanCnt"] == last["ImageTotal"] == 1
        # Read from the registry (layer by layer), not exported from dockerd.
        log = srv.log()
        # (Any repository holding the image id will do: the anonymous registry may hold it under several names.)
        assert f'Registry {{ reference: "{ANON}/' in log and "Docker { name" not in log

        def all_pages(action, key, ident):
            out, offset = [], 0
            while True:
                r = call(action, {**ident, "Limit": 100, "Offset": offset})
                out += r["List"]
                offset += 100
                if offset >= r["TotalCount"]:
                    return out

        reg_vul = all_pages("DescribeAssetImageRegistryVulList", "List", {"Id": row["Id"]})
        loc_vul = all_pages("DescribeAssetImageVulList", "List", {"ImageID": image_id})
        assert len(reg_vul) == len(loc_vul) > 0
        assert sorted((v["CVEID"], v["Component"], v["Version"], int(v["Level"]), v["FixedVersions"]) for v in reg_vul) == \
            sorted((v["CVEID"], v["Component"], v["Version"], v["Level"], v["FixedVersions"]) for v in loc_vul)
        for v in reg_vul[:20]:
            assert_schema(v, "ImageVul")
        # Each finding names the file its package was read from and the layer that holds it.
        diff_ids = json.loads(subprocess.run(["docker", "image", "inspect", "--format", "{{json .RootFS.Layers}}", image_id],
                                             capture_output=True, text=True, check=True).stdout)
        for v in reg_vul:
            assert v["Components"][0]["Path"].startswith("/"), v
            assert [x["LayerId"] for x in v["LayerInfos"]] and all(x["LayerId"] in diff_ids for x in v["LayerInfos"]), v
        assert any(v["Components"][0]["Path"].startswith("/var/lib/dpkg/") for v in reg_vul), "a Debian package: dpkg's database"
        reg_virus = all_pages("DescribeAssetImageRegistryVirusList", "List", {"Id": row["Id"]})
        loc_virus = all_pages("DescribeAssetImageVirusList", "List", {"ImageID": image_id})
        assert sorted((v["Path"], v["VirusName"]) for v in reg_virus) == sorted((v["Path"], v["VirusName"]) for v in loc_virus)
        for v in reg_virus:
            assert_schema(v, "ImageVirus")
        reg_risk = all_pages("DescribeAssetImageRegistryRiskInfoList", "List", {"Id": row["Id"]})
        loc_risk = all_pages("DescribeAssetImageRiskList", "List", {"ImageID": image_id})
        assert sorted(x["Desc"] for x in reg_risk) == sorted(x["Desc"] for x in loc_risk)
        cli = cli_scan(tmp_path / "cli", image_id)
        assert len(cli["malware"]) == len(reg_virus) > 0 and len(cli["risks"]) == len(reg_risk) > 0
        no_secrets(reg_risk, reg_virus)
        # The registry row and the local row agree on the counts.
        row = rows(call, ImageName="shipshape-test/bookworm-app", InstanceName="anon")["List"][0]
        local = call("DescribeAssetImageList", {"Filters": [{"Name": "ImageID", "Values": [image_id], "ExactMatch": True}]})["List"][0]
        assert (row["VulCnt"], row["VirusCnt"], row["RiskCnt"], row["ScanStatus"]) == \
            (local["VulCnt"], local["VirusCnt"], local["RiskCnt"], local["ScanStatus"])
        assert row["CriticalLevelVulCnt"] == local["CriticalLevelVulCnt"] and row["HighLevelVulCnt"] == local["HighLevelVulCnt"]
        # The image is still the engine's asset too (one asset, both names).
        assert local["ImageName"] == IMAGE
        call("RemoveAssetImageRegistryRegistryDetail", {"RegistryId": reg})
        assert call("DescribeAssetImageList", {"Filters": [{"Name": "ImageID", "Values": [image_id], "ExactMatch": True}]})["TotalCount"] == 1
    finally:
        srv.stop()


def test_timing_scan_fires_once_and_not_again_after_restart(tmp_path, regonly):
    repo, _remote, image_id = regonly
    # No test clock: the slot is the next whole minute (ScanTime has minutes), waited for.
    cfg = tmp_path / "registries.toml"
    cfg.write_text(f'[[registry]]\nhost = "{ANON}"\ninsecure = true\nrepositories = ["shipshape-test/bookworm-app"]\n')
    srv = Server("sqlite", tmp_path / "timing", extra=["--registries", str(cfg)])
    srv.start()
    try:
        call = make_call(srv.endpoint, srv.first_key())
        # The registries file's entry is listed, read-only.
        file_reg = wait_for(lambda: [x for x in call("DescribeAssetImageRegistryRegistryList", {})["List"] if x["Name"] == f"file:{ANON}"],
                            "the registries file's entry")[0]
        assert error_code(lambda: call("RemoveAssetImageRegistryRegistryDetail", {"RegistryId": file_reg["RegistryId"]})) == "FailedOperation"
        assert error_code(lambda: call("UpdateAssetImageRegistryRegistryDetail", {
            "RegistryId": file_reg["RegistryId"], "Name": "x", "Username": "", "Password": "", "Url": f"http://{ANON}",
            "RegistryType": "other", "NetType": "public"})) == "FailedOperation"
        assert call("CheckRepeatAssetImageRegistry", {"Name": f"file:{ANON}"})["IsRepeat"] is True

        add(call, "auth", f"http://{AUTH}", USER, PASSWORD)
        synced(call)
        row = wait_for(lambda: rows(call, ImageName=repo)["List"], f"{repo} in the registry list")[0]
        at = (datetime.now(timezone.utc) + timedelta(seconds=30 + 59)).strftime("%H:%M")
        call("UpdateImageRegistryTimingScanTask", {"Enable": True, "ScanTime": at, "ScanPeriod": 1, "ScanType": ["RISK"],
                                                   "Id": [row["Id"]], "All": False})
        t = wait_for(lambda: (lambda s: s if s.get("ScanResult") else None)(call("DescribeImageRegistryTimingScanTask", {})),
                     "the scheduled registry scan to run and be recorded", timeout=270)
        assert t["ScanResult"] == "Success" and t["LastScanTime"] and t["Id"] == [row["Id"]] and t["ScanScope"] == 1
        s = call("DescribeAssetImageRegistryScanStatusOneKey", {})
        assert (s["Status"], s["ImageTotal"], s["RiskCount"]) == ("END", 1, 1)
        assert rows(call, ImageName=repo)["List"][0]["RiskStatus"] == "SCANNED"
        first = t["LastScanTime"]
    finally:
        srv.stop()
    # Restarted: the slot was fired, so nothing runs again.
    srv.start()
    try:
        call = make_call(srv.endpoint, srv.first_key())
        time.sleep(3)
        assert call("DescribeImageRegistryTimingScanTask", {})["LastScanTime"] == first, "fired twice for one slot"
    finally:
        srv.stop()


def test_insecure_skips_certificate_checks_for_sync_and_scan(server, account, call, tmp_path):
    """A registry over HTTPS with a self-signed certificate: refused (connection status) with Insecure 0,
    synced and scanned (layers read over the same TLS) with Insecure 1; NeedScan scans its new image after
    the sync without being asked."""
    need_registries()
    d = tmp_path
    # An image of its own (a layer no scan has cached), so the scan reads it over TLS.
    (d / "layer").mkdir()
    (d / "layer" / "nonce").write_text(uuid.uuid4().hex)
    subprocess.run(["tar", "-C", str(d / "layer"), "-cf", str(d / "layer.tar"), "nonce"], check=True, timeout=60)
    local = f"shipshape-e2e/selfsigned:{uuid.uuid4().hex[:8]}"
    subprocess.run(["docker", "import", str(d / "layer.tar"), local], check=True, capture_output=True, timeout=120)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "r.key",
                    "-out", "r.pem", "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"],
                   cwd=d, check=True, capture_output=True, timeout=60)
    port = closed_port()
    (d / "r.yml").write_text(f"version: 0.1\nlog: {{level: warn}}\nstorage: {{filesystem: {{rootdirectory: {d}/data}}}}\n"
                             f"http: {{addr: 127.0.0.1:{port}, tls: {{certificate: {d}/r.pem, key: {d}/r.key}}}}\n")
    reg = subprocess.Popen(["docker-registry", "serve", str(d / "r.yml")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        host = f"127.0.0.1:{port}"
        for _ in range(100):
            if subprocess.run(["curl", "-skf", f"https://{host}/v2/"], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        subprocess.run(["skopeo", "copy", "-q", "--dest-tls-verify=false", f"docker-daemon:{local}",
                        f"docker://{host}/selfsigned/tiny:1"], check=True, capture_output=True, timeout=300)
        subprocess.run(["docker", "rmi", local], check=True, capture_output=True, timeout=120)
        r = add(call, "self-signed", f"https://{host}", RegistryType="other")
        assert r["RegistryId"] > 0 and "certificate" in r["HealthCheckErr"].lower(), r
        conn = call("DescribeAssetImageRegistryRegistryDetail", {"RegistryId": r["RegistryId"]})["ConnDetectDetail"][0]
        assert conn["ConnDetectStatus"] == "status_conn_failed"
        ok = call("UpdateAssetImageRegistryRegistryDetail", {"RegistryId": r["RegistryId"], "Name": "self-signed", "Username": "",
                                                             "Password": "", "Url": f"https://{host}", "RegistryType": "other",
                                                             "NetType": "public", "Insecure": 1, "SpeedLimit": 1, "NeedScan": True})
        assert ok["HealthCheckErr"] == ""
        synced(call)
        wait_for(lambda: rows(call, ImageName="selfsigned/tiny")["List"], "the self-signed registry's image")
        # NeedScan queued the never-scanned image after the sync.
        def ended():
            try:
                return call("DescribeAssetImageRegistryScanStatusOneKey", {})["Status"] == "END"
            except TencentCloudSDKException:
                return False  # not queued yet
        wait_for(ended, "the NeedScan task to end")
        last = call("DescribeAssetImageRegistryScanStatusOneKey", {})
        assert last["SuccessCount"] + last["RiskCount"] == last["ImageTotal"] == 1, last
        assert rows(call, ImageName="selfsigned/tiny")["List"][0]["RiskStatus"] == "SCANNED"
        assert f'Registry {{ reference: "{host}/selfsigned/tiny@' in server.log(), "the layer was read from the registry"
    finally:
        reg.terminate()
        reg.wait(timeout=30)
