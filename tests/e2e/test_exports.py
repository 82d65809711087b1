"""Exports: DescribeAssetImageRegistry{List,VulList,VirusList,RiskList}Export, DescribeExportJobResult,
DescribeExportJobDownloadURL and DescribeExportJobManageList through the official Python SDK and tccli,
against the anonymous registry of scripts/services.sh.

Each workbook is downloaded from the URL the answer carries (served by `serve` at /exports/TOKEN) and read
with openpyxl: its header is the ExportField names and its rows are exactly the rows of the matching list
action, read page by page with the same filters and sort. Another account's key cannot see the job; an
unknown or expired link is a 404.
"""
import io
import json
import sqlite3
import time
import urllib.error
import urllib.request

import openpyxl
import pytest
from tencentcloud.tcss.v20201101 import models

from conftest import Server, make_call, make_tcss
from test_image_registry import ANON, need_registries
from test_image_scan import SHARED, error_code
from test_registry_api import add, assert_response, poll_registry_task, rows, synced, wait_for

BOOKWORM = "shipshape-test/bookworm-app"


def download(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        assert r.status == 200
        assert r.headers["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        assert r.headers["Cache-Control"] == "no-store"
        return r.read()


def status_of(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def sheet(data):
    """(header, rows) of the workbook's only sheet, every cell as openpyxl reads it."""
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    assert len(wb.worksheets) == 1
    values = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
    return values[0], values[1:]


def cell(v):
    """A list field as the workbook writes it: numbers and booleans stay, lists are joined, None is empty."""
    if isinstance(v, list):
        return "; ".join(x if isinstance(x, str) else json.dumps(x, separators=(",", ":")) for x in v) or None
    if v == "":
        return None
    return v


def every_row(call, action, params):
    out, offset = [], 0
    while True:
        page = call(action, {**params, "Limit": 100, "Offset": offset})
        out += page["List"]
        offset += 100
        if offset >= page["TotalCount"]:
            assert len(out) == page["TotalCount"]
            return out


def expect(header, got_rows, listed, fields):
    assert header == [f for f, _ in fields]
    want = [[cell(item[src]) if src else None for _, src in fields] for item in listed]
    assert [[None if v == "" else v for v in r] for r in got_rows] == want


def test_registry_list_export_has_every_row_and_only_the_owner_reads_it(server, account, call, tccli):
    need_registries()
    r = add(call, "anon", f"http://{ANON}", RegistryType="other")
    assert r["HealthCheckErr"] == "", r
    assert synced(call)["Status"] == "success"
    wait_for(lambda: rows(call, InstanceName="anon")["TotalCount"] > 0, "the anonymous registry's images")

    filters = [{"Name": "InstanceName", "Values": ["anon"], "ExactMatch": True}]
    params = {"Filters": filters, "By": "ImageTag", "Order": "DESC"}
    fields = ["ImageName", "ImageTag", "ImageId", "ImageSize", "IsLatestImage", "ScanStatus", "VulCnt", "ScanEndTime"]
    tcss = make_tcss(server.endpoint, account)
    req = models.DescribeAssetImageRegistryListExportRequest()
    # Limit/Offset do not cut an export: every row of the filtered list is in the workbook.
    req.from_json_string(json.dumps({**params, "ExportField": fields, "Limit": 1, "Offset": 0}))
    resp = tcss.DescribeAssetImageRegistryListExport(req)
    assert resp.JobId and resp.DownloadUrl.startswith(f"http://{server.endpoint}/exports/")
    header, got = sheet(download(resp.DownloadUrl))
    listed = every_row(call, "DescribeAssetImageRegistryList", params)
    assert len(listed) >= 1
    expect(header, got, listed, [(f, "ScanTime" if f == "ScanEndTime" else f) for f in fields])
    # The whole list, not the page of Limit 1.
    assert len(got) == len(listed)

    # The job: listed, its result and a fresh link; each link works.
    res = call("DescribeExportJobResult", {"JobId": resp.JobId})
    assert_response(res, "DescribeExportJobResult")
    assert (res["ExportStatus"], res["ExportProgress"], res["FailureMsg"]) == ("SUCCESS", 100, "")
    assert res["DownloadURL"] != resp.DownloadUrl and sheet(download(res["DownloadURL"])) == (header, got)
    url = call("DescribeExportJobDownloadURL", {"JobID": resp.JobId})
    assert_response(url, "DescribeExportJobDownloadURL")
    assert sheet(download(url["DownloadURL"]))[1] == got
    jobs = call("DescribeExportJobManageList", {"Filters": [{"Name": "ExportSource", "Values": ["RegistryImage"], "ExactMatch": True}]})
    assert_response(jobs, "DescribeExportJobManageList")
    assert jobs["TotalCount"] == 1
    job = jobs["List"][0]
    assert (job["JobID"], job["Source"], job["ExportStatus"], job["ExportProgress"]) == (resp.JobId, "RegistryImage", "SUCCESS", 100)
    assert job["JobName"].startswith(f"RegistryImage-{account.app_id}-ImageList-") and job["Timeout"] > job["InsertTime"]
    assert call("DescribeExportJobManageList", {"Filters": [{"Name": "ExportStatus", "Values": ["FAILURE"]}]})["TotalCount"] == 0

    # Another account: the job does not exist for it, and its list is empty.
    other = make_call(server.endpoint, server.new_key())
    assert error_code(lambda: other("DescribeExportJobResult", {"JobId": resp.JobId})) == "ResourceNotFound"
    assert error_code(lambda: other("DescribeExportJobDownloadURL", {"JobID": resp.JobId})) == "ResourceNotFound"
    assert other("DescribeExportJobManageList", {})["TotalCount"] == 0

    # Unknown links are 404 whatever their shape.
    base = f"http://{server.endpoint}/exports/"
    for bad in ["A" * 43, "x", resp.DownloadUrl.rsplit("/", 1)[1][:-1] + "0"]:
        assert status_of(base + bad) == 404, bad

    # Bad input: the contract's codes, and no job is stored.
    assert error_code(lambda: call("DescribeAssetImageRegistryListExport", {"ExportField": ["ImageName", "Nope"]})) == "InvalidParameterValue"
    assert error_code(lambda: call("DescribeAssetImageRegistryListExport", {"By": "Nope"})) == "InvalidParameter"
    assert error_code(lambda: call("DescribeAssetImageRegistryListExport", {"Filters": [{"Name": "Bogus", "Values": ["x"]}]})) == "InvalidParameter"
    assert error_code(lambda: call("DescribeExportJobResult", {"JobId": ""})) == "InvalidParameter.MissingParameter"
    assert error_code(lambda: call("DescribeExportJobResult", {"JobId": "no-such-job"})) == "ResourceNotFound"
    assert error_code(lambda: call("DescribeExportJobManageList", {"By": "Name"})) == "InvalidParameter"
    assert error_code(lambda: call("DescribeExportJobManageList", {"Filters": [{"Name": "Bogus", "Values": ["x"]}]})) == "InvalidParameter"
    assert call("DescribeExportJobManageList", {})["TotalCount"] == 1

    # tccli: the official example's columns (no ExportField), with a filter.
    out = tccli("DescribeAssetImageRegistryListExport", "--Filters",
                json.dumps([{"Name": "ImageName", "Values": [BOOKWORM], "ExactMatch": True}]))
    assert out.returncode == 0, out.stderr
    got_cli = json.loads(out.stdout)
    header, got = sheet(download(got_cli["DownloadUrl"]))
    assert header[:4] == ["InstanceName", "InstanceId", "RegistryType", "Namespace"] and "ScanStartTime" in header
    listed = every_row(call, "DescribeAssetImageRegistryList", {"Filters": [{"Name": "ImageName", "Values": [BOOKWORM], "ExactMatch": True}]})
    assert [r[header.index("ImageTag")] for r in got] == [x["ImageTag"] for x in listed] and len(got) >= 1
    both = call("DescribeExportJobManageList", {"Order": "ASC", "By": "InsertTime"})
    assert both["TotalCount"] == 2 and {j["JobID"] for j in both["List"]} == {resp.JobId, got_cli["JobId"]}
    assert both["List"][0]["InsertTime"] <= both["List"][1]["InsertTime"]


def test_expired_link_is_a_404(sqlite_server):
    """The link's expiry is the server's: a token whose expiry passed (set in the database) is refused."""
    key = sqlite_server.new_key()
    call = make_call(sqlite_server.endpoint, key)
    resp = call("DescribeAssetImageRegistryListExport", {"ExportField": ["ImageName"]})
    header, got = sheet(download(resp["DownloadUrl"]))
    assert header == ["ImageName"] and got == []
    db = sqlite3.connect(sqlite_server.data_dir / "shipshape.db", timeout=30)
    with db:
        n = db.execute("UPDATE export_tokens SET expires_at = 0 WHERE job_id = ?", (resp["JobId"],)).rowcount
    db.close()
    assert n == 1
    assert status_of(resp["DownloadUrl"]) == 404
    # A new link for the same job works again.
    assert sheet(download(call("DescribeExportJobDownloadURL", {"JobID": resp["JobId"]})["DownloadURL"]))[0] == ["ImageName"]
    # The file is private to the server's user.
    f = next((sqlite_server.data_dir / "exports").iterdir())
    assert f.stat().st_mode & 0o777 == 0o600 and (sqlite_server.data_dir / "exports").stat().st_mode & 0o777 == 0o700


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    """A server of its own with Debian advisories, the anonymous registry added and bookworm-app scanned
    (vulnerabilities, trojans, sensitive information)."""
    need_registries()
    srv = Server("sqlite", tmp_path_factory.mktemp("exports")).start()
    try:
        srv.cli("db", "import", str(SHARED / "vulndata" / "osv" / "Debian"))
        call = make_call(srv.endpoint, srv.first_key())
        add(call, "anon", f"http://{ANON}", RegistryType="other")
        synced(call)
        row = wait_for(lambda: rows(call, ImageName=BOOKWORM, ImageTag="1", InstanceName="anon")["List"], "bookworm-app:1")[0]
        task = call("CreateAssetImageRegistryScanTaskOneKey", {"Id": [row["Id"]]})["TaskID"]
        poll_registry_task(call, task)
        yield srv, call, row["Id"]
    finally:
        srv.stop()


@pytest.mark.parametrize("action,list_action,fields", [
    ("DescribeAssetImageRegistryVulListExport", "DescribeAssetImageRegistryVulList",
     [("CVEId", "CVEID"), ("Name", "Name"), ("Level", "Level"), ("Component", "Component"), ("Version", "Version"),
      ("Tag", "Tag"), ("CVSS_Score", "CvssScore"), ("AttackLevel", "AttackLevel")]),
    ("DescribeAssetImageRegistryVirusListExport", "DescribeAssetImageRegistryVirusList",
     [("Path", "Path"), ("RiskLevel", "RiskLevel"), ("Category", "Category"), ("VirusName", "VirusName"), ("Tags", "Tags"),
      ("FileSize", "FileSize")]),
    ("DescribeAssetImageRegistryRiskListExport", "DescribeAssetImageRegistryRiskInfoList",
     [("Desc", "Desc"), ("Level", "Level"), ("Type", "Type"), ("Behavior", "Behavior")]),
])
def test_findings_exports_have_exactly_the_list_rows(scanned, action, list_action, fields):
    srv, call, image = scanned
    resp = call(action, {"Id": image, "ExportField": [f for f, _ in fields]})
    assert_response(resp, action)
    header, got = sheet(download(resp["DownloadUrl"]))
    listed = every_row(call, list_action, {"Id": image})
    assert len(listed) >= 1, f"{list_action} of bookworm-app is empty"
    expect(header, got, listed, fields)
    # A filter narrows the export as it narrows the list.
    if action == "DescribeAssetImageRegistryVulListExport":
        flt = [{"Name": "Level", "Values": ["4"]}]
        _, got = sheet(download(call(action, {"Id": image, "ExportField": ["CVEId"], "Filters": flt})["DownloadUrl"]))
        assert [r[0] for r in got] == [x["CVEID"] for x in every_row(call, list_action, {"Id": image, "Filters": flt})]
    assert error_code(lambda: call(action, {"Id": 987654321})) == "ResourceNotFound"
    assert error_code(lambda: call(action, {"Id": image, "ExportField": ["NoSuchField"]})) == "InvalidParameterValue"


@pytest.mark.parametrize("action,list_action,fields,answer", [
    ("DescribeAssetImageVulListExport", "DescribeAssetImageVulList",
     [("CVEID", "CVEID"), ("Component", "Component"), ("Version", "Version"), ("Level", "Level"),
      ("FixedVersions", "FixedVersions"), ("CVSSV3Score", "CVSSV3Score")], {"DownloadUrl"}),
    ("DescribeAssetImageVirusListExport", "DescribeAssetImageVirusList",
     [("Path", "Path"), ("RiskLevel", "RiskLevel"), ("VirusName", "VirusName"), ("Md5", "Md5")], {"DownloadUrl", "JobId"}),
    ("DescribeAssetImageRiskListExport", "DescribeAssetImageRiskList",
     [("Behavior", "Behavior"), ("Type", "Type"), ("Level", "Level"), ("Desc", "Desc")], {"DownloadUrl"}),
])
def test_local_findings_exports_have_exactly_the_list_rows(scanned, action, list_action, fields, answer):
    """The local image family's exports (no schema in the contract: the SDK models' fields): every row of the
    local list of the same image, the answer shaped as the SDK model, the job listed with Source LocalImage."""
    srv, call, row_id = scanned
    image_id = call("DescribeAssetImageRegistryDetail", {"Id": row_id})["ImageId"]
    resp = call(action, {"ImageID": image_id, "ExportField": [f for f, _ in fields]})
    assert set(resp) - {"RequestId"} == answer, resp
    header, got = sheet(download(resp["DownloadUrl"]))
    listed = every_row(call, list_action, {"ImageID": image_id})
    assert len(listed) >= 1, f"{list_action} of bookworm-app is empty"
    expect(header, got, listed, fields)
    jobs = call("DescribeExportJobManageList", {"Limit": 100, "Filters": [{"Name": "ExportSource", "Values": ["LocalImage"]}]})
    assert jobs["TotalCount"] >= 1 and all(j["Source"] == "LocalImage" for j in jobs["List"]), jobs
    # The typed SDK model parses the answer.
    model = getattr(models, f"{action}Response")()
    model._deserialize(resp)
    assert model.DownloadUrl == resp["DownloadUrl"]
    assert error_code(lambda: call(action, {"ImageID": "sha256:" + "0" * 64, "ExportField": [fields[0][0]]})) == "ResourceNotFound"
    assert error_code(lambda: call(action, {"ImageID": image_id, "ExportField": ["NoSuchField"]})) == "InvalidParameterValue"
    assert error_code(lambda: call(action, {"ImageID": image_id})) == "InvalidParameter.MissingParameter"
