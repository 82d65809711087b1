"""The web console (crates/console) in Debian's Chromium, driven by playwright-core
(crates/console/web/e2e/run.mjs) against a real `shipshape serve` holding the test image, with
Debian advisories loaded. The browser run writes what the pages showed; these tests compare it
with the same data read through the official Python SDK, so the console is checked against the
API rather than against itself.

SHIPSHAPE_CONSOLE_SCREENSHOTS=docs/console refreshes the README's screenshots.
"""
import io
import json
import os
import subprocess
import tarfile
from pathlib import Path

import re
import urllib.request

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from conftest import REPO, Key, Server, make_call, services_required
from test_image_registry import ANON, closed_port, need_registries
from test_image_scan import PLANTS, SHARED, docker_image_id, wait_image

WEB = REPO / "crates" / "console" / "web"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
WRONG_KEY = "ThisIsNotTheSecretKey0000000000"
NAV_EN = ["Overview", "Images", "Registries", "Compliance", "Settings"]
NAV_ZH = ["概览", "镜像", "镜像仓库", "合规", "设置"]
CONN = {"status_success": "Connected", "status_auth_failed": "Sign-in refused", "status_conn_failed": "Unreachable",
        "status_detecting": "Not checked yet"}


def need(ok: bool, why: str):
    if ok:
        return
    if services_required():
        pytest.fail(why)
    pytest.skip(why)


def all_pages(call, action, params, list_field="List"):
    out, offset = [], 0
    while True:
        r = call(action, {**params, "Limit": 100, "Offset": offset})
        out += r[list_field]
        offset += 100
        if offset >= r["TotalCount"]:
            return out


def push_to_anonymous_registry(tmp, repo):
    """A one-layer image holding a planted AWS key (app/.env) in the anonymous test registry as
    REPO:1 (docker import, skopeo copy, then removed from dockerd). Returns its image id."""
    layer = tmp / "layer.tar"
    env = b"AWS_ACCESS_KEY_ID=AKIAGN2LZ5PJA5VZNVAB\nAWS_SECRET_ACCESS_KEY=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\n"
    with tarfile.open(layer, "w") as t:
        info = tarfile.TarInfo("app/.env")
        info.size, info.mode = len(env), 0o600
        t.addfile(info, io.BytesIO(env))
    local = f"{repo}:1"
    subprocess.run(["docker", "import", str(layer), local], check=True, capture_output=True, timeout=120)
    image_id = subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", local], check=True, capture_output=True,
                              text=True, timeout=60).stdout.strip()
    subprocess.run(["skopeo", "copy", "-q", "--dest-tls-verify=false", f"docker-daemon:{local}", f"docker://{ANON}/{local}"],
                   check=True, capture_output=True, timeout=300)
    subprocess.run(["docker", "rmi", local], check=True, capture_output=True, timeout=120)
    return image_id


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    """One browser run over every page; yields (call, image_id, report, process)."""
    need(Path(CHROMIUM).exists(), f"no {CHROMIUM} (apt-get install chromium)")
    need((WEB / "node_modules" / "playwright-core").exists(), "no playwright-core: npm ci in crates/console/web")
    need_registries()
    image_id = docker_image_id()
    root = tmp_path_factory.mktemp("console")
    # One repository and tag, overwritten by each run, so the registry does not grow run by run.
    registry_repo = "shipshape-e2e/console"
    registry_image = push_to_anonymous_registry(root, registry_repo)
    # dockerd is shared with tests running beside this one: the inventory is listed once at the
    # start, so the images the pages show and those the API lists afterwards are the same set.
    srv = Server("sqlite", root / "server", extra=["--inventory-every", "3600"])
    srv.data_dir.mkdir(parents=True)
    srv.cli("db", "import", str(SHARED / "vulndata" / "osv" / "Debian"))
    srv.start()
    try:
        key = srv.first_key()
        call = make_call(srv.endpoint, key)
        wait_image(call, image_id)
        keyfile = root / "key.json"
        keyfile.write_text(json.dumps({"SecretId": key.secret_id, "SecretKey": key.secret_key}))
        report = root / "report.json"
        shots = os.environ.get("SHIPSHAPE_CONSOLE_SCREENSHOTS")
        cmd = ["node", "e2e/run.mjs", f"http://{srv.endpoint}", str(keyfile), str(report)]
        if shots:
            cmd.append(str((REPO / shots).resolve()))
        env = {**os.environ, "CONSOLE_IMAGE_ID": image_id, "CONSOLE_WRONG_KEY": WRONG_KEY, "CHROMIUM": CHROMIUM,
               "CONSOLE_REGISTRY": ANON, "CONSOLE_REGISTRY_REPO": registry_repo, "CONSOLE_CLOSED_PORT": str(closed_port())}
        proc = subprocess.run(cmd, cwd=WEB, capture_output=True, text=True, timeout=2700, env=env)
        data = json.loads(report.read_text()) if report.exists() else {"ok": False}
        if not data.get("ok"):
            print(proc.stdout[-5000:], proc.stderr[-5000:], srv.log()[-5000:], sep="\n")
        data["registryRepo"], data["registryImage"] = registry_repo, registry_image
        yield srv, call, key, image_id, data, proc
    finally:
        srv.stop()


@pytest.fixture
def report(ui):
    _, _, _, _, data, proc = ui
    assert proc.returncode == 0 and data.get("ok"), f"browser run failed: {data.get('error')}\n{proc.stderr[-3000:]}"
    return data


def test_root_redirects_and_the_page_is_served_with_csp(report):
    assert report["redirectedTo"] == "/console/"
    csp = report["indexHeaders"]["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "unsafe-inline" not in csp
    assert report["indexHeaders"]["cache-control"] == "no-cache"
    # A CSP violation or a script error would show here.
    assert report["consoleErrors"] == []


def test_sign_in_wrong_then_right_key(ui, report):
    srv, _, key, _, _, _ = ui
    wrong = make_call(srv.endpoint, Key(key.secret_id, WRONG_KEY, key.app_id))
    with pytest.raises(TencentCloudSDKException) as e:
        wrong("DescribeAssetImageScanSetting")
    # The page shows the API's own message and code.
    assert e.value.get_message() in report["wrongKeyError"]
    assert e.value.get_code() in report["wrongKeyError"]
    assert report["signedInWithWrongKey"] is False
    # Signed in: the key is in this tab's sessionStorage only.
    assert report["storage"] == {"session": ["shipshape.key"], "local": report["storage"]["local"], "cookie": ""}
    assert key.secret_key not in report["storage"]["local"]
    assert report["afterSignOut"] == []


def test_the_browser_signs_every_call_and_never_resends_a_change(report):
    reqs = report["requests"]
    assert len(reqs) > 10
    assert all("SignedHeaders=content-type;host;x-tc-action," in r["auth"] for r in reqs), reqs[:3]
    mutating = [r for r in reqs if not r["action"].startswith(("Describe", "Check"))]
    assert {r["action"] for r in mutating} >= {"CreateAssetImageScanTask", "ScanComplianceAssets", "CreateAssetImageScanSetting",
                                               "AddAssetImageRegistryRegistryDetail", "UpdateAssetImageRegistryRegistryDetail",
                                               "RemoveAssetImageRegistryRegistryDetail", "SyncAssetImageRegistryAsset",
                                               "CreateAssetImageRegistryScanTaskOneKey", "AddComplianceAssetPolicySetToWhitelist",
                                               "DeleteCompliancePolicyItemFromWhitelist", "ModifyCompliancePeriodTask",
                                               "UpdateImageRegistryTimingScanTask"}
    assert len({(r["action"], r["auth"]) for r in mutating}) == len(mutating), "a mutating request was sent twice"


def test_images_listed_equal_the_api(ui, report):
    _, call, _, image_id, _, _ = ui
    api = all_pages(call, "DescribeAssetImageList", {})
    # Listed again at the end of the run: the same rows, order and names as the API.
    assert [r["id"] for r in report["imagesEnd"]] == [i["ImageID"] for i in api]
    assert [r["name"] for r in report["imagesEnd"]] == [i["ImageName"] or i["ImageID"][7:19] for i in api]
    # At the start (the registry added later brought images of its own, and dockerd is shared):
    # one page held them all, the test image among them.
    assert report["imagesRange"].endswith(f"of {len(report['images'])}")
    assert image_id in [r["id"] for r in report["images"]]


def test_scan_from_the_ui_reaches_100_percent(ui, report):
    _, call, _, image_id, _, _ = ui
    assert report["dialog"]["checked"] == {"Vulnerabilities": True, "Trojans": True, "Risks": True}
    values = [p["value"] for p in report["progress"]]
    assert values == sorted(values), report["progress"]
    assert values[-1] == 100 and report["progress"][-1]["state"] == "Finished", report["progress"]
    assert report["progress"][-1]["text"].startswith("100 % · 1 of 1 images")
    task_id = report["taskTitle"].split()[2]
    s = call("DescribeAssetImageScanStatus", {"TaskID": task_id})
    assert (s["Status"], s["Schedule"], s["ImageTotal"], s["ImageScanCnt"]) == ("END", 100, 1, 1)
    img = call("DescribeAssetImageList", {"Filters": [{"Name": "ImageID", "Values": [image_id], "ExactMatch": True}]})["List"][0]
    assert img["ScanStatus"] == "SCANNED"


def test_scan_selected_and_stop(ui, report):
    _, call, _, _, _, _ = ui
    assert report["bulkDialogTitle"] == "Scan 2 image(s)"
    task_id = report["bulkTaskTitle"].split()[2]
    assert task_id != report["taskTitle"].split()[2]
    s = call("DescribeAssetImageScanStatus", {"TaskID": task_id})
    assert (s["Status"], s["ImageTotal"]) == ("END", 2)
    stops = [r for r in report["requests"] if r["action"] == "ModifyAssetImageScanStop"]
    assert len(stops) == (1 if report["stopClicked"] else 0)
    assert report["bulkSelectedAfter"] == "Scan selected (0)"


def test_vulnerabilities_tab_equals_the_api(ui, report):
    _, call, _, image_id, _, _ = ui
    api = all_pages(call, "DescribeAssetImageVulList", {"ImageID": image_id, "By": "Level", "Order": "DESC"})
    assert len(api) > 0, "the test image has known vulnerabilities in the Debian data"
    want = [{"cve": v["CVEID"], "component": v["Component"], "version": v["Version"], "fixed": v["FixedVersions"], "level": str(v["Level"])}
            for v in api]
    assert report["vuls"] == want


def test_trojans_risks_and_layers_tabs(ui, report):
    _, call, _, image_id, _, _ = ui
    virus = call("DescribeAssetImageVirusList", {"ImageID": image_id, "Limit": 50})
    risk = call("DescribeAssetImageRiskList", {"ImageID": image_id, "Limit": 50})
    assert virus["TotalCount"] > 0 and risk["TotalCount"] > 0
    assert report["virusRows"] == len(virus["List"])
    assert report["riskRows"] == len(risk["List"])
    assert report["riskValues"] == [r["InstructionContent"] for r in risk["List"]]
    text = json.dumps(report)
    for v in PLANTS["secret_values"]:
        for line in v.split("\n"):
            assert len(line) <= 8 or line not in text, "a secret value was shown unmasked"
    history = call("DescribeAssetImageDetail", {"ImageID": image_id})["BuildHistory"]
    assert report["layerRows"] == sum(1 for line in history.split("\n") if line.startswith("# "))
    # Arrow keys move between the tabs.
    assert report["keyboardTab"].startswith("tab:Trojans")


def test_language_and_theme_switch(report):
    assert report["navEn"] == NAV_EN
    assert report["navZh"] == NAV_ZH
    assert report["navBack"] == NAV_EN
    # A Chinese browser gets Chinese without asking.
    assert report["zhDefault"] == {"signInButton": "登录", "lang": "zh-CN"}
    assert report["theme"]["dark"] != report["theme"]["light"]


def test_no_serious_accessibility_violations(report):
    pages = set(report["axe"])
    assert pages >= {"signin", "overview", "images", "scan-dialog", "image-vulnerabilities", "image-risks", "overview-zh",
                     "images-dark", "compliance", "settings", "whitelist", "periodic", "registries-list", "registries",
                     "registry-dialog", "registry-schedule"}
    bad = {p: [(v["id"], v["impact"], v["nodes"]) for v in vs if v["impact"] in ("serious", "critical")]
           for p, vs in report["axe"].items()}
    assert not any(bad.values()), bad


def test_compliance_recheck_shows_the_api_results(ui, report):
    _, call, _, _, _, _ = ui
    asset = int(report["complianceAsset"])
    items = all_pages(call, "DescribeComplianceAssetPolicyItemList", {"CustomerAssetId": asset}, "AssetPolicyItemList")
    assert report["complianceItems"] == [{"id": i["CustomerPolicyItemId"], "result": i["CheckResult"]} for i in items]
    assert any(i["CheckResult"] for i in items), "the re-check produced results"


def test_settings_saved_through_the_api(ui, report):
    _, call, _, _, _, _ = ui
    s = call("DescribeAssetImageScanSetting")
    assert (s["Enable"], s["ScanPeriod"]) == (True, 3)


def test_overview_severity_counts_equal_the_api(ui, report):
    _, call, _, _, _, _ = ui
    # The Overview counts on the server (Limit 0 lists); here every row is read and bucketed.
    api = all_pages(call, "DescribeAssetImageList", {})

    def bucket(i):
        if i["ScanStatus"] == "NOT_SCAN":
            return "unscanned"
        for level, field in ((4, "CriticalLevelVulCnt"), (3, "HighLevelVulCnt"), (2, "MediumLevelVulCnt"), (1, "LowLevelVulCnt")):
            if i[field] > 0:
                return str(level)
        return "0"

    want = {k: 0 for k in ("4", "3", "2", "1", "0", "unscanned")}
    for i in api:
        want[bucket(i)] += 1
    # Read at the end of the run, after the console's scans and syncs.
    assert dict(report["overviewEnd"]) == want


def test_registries_page_adds_scans_edits_and_removes_through_the_api(ui, report):
    _, call, _, _, _, _ = ui
    regs = all_pages(call, "DescribeAssetImageRegistryRegistryList", {})
    by_id = {r["RegistryId"]: r for r in regs}
    # The page listed both registries with the connection status the API reports.
    shown = {r["id"]: r for r in report["registryRows"]}
    assert set(shown) >= {report["registryId"], report["badRegistryId"]}
    assert shown[report["badRegistryId"]]["conn"] == "Unreachable"
    assert shown[report["registryId"]]["conn"] == CONN[by_id[report["registryId"]]["ConnDetectDetail"][0]["ConnDetectStatus"]] == "Connected"
    # Removed from the page: gone from the API; the edit was saved (the password never shown).
    assert report["badRegistryId"] not in by_id and report["registryRowsAfter"] == [report["registryId"]]
    assert report["editForm"] == {"name": "console-e2e", "url": f"http://{ANON}", "password": ""}
    detail = call("DescribeAssetImageRegistryRegistryDetail", {"RegistryId": report["registryId"]})
    assert (detail["Name"], detail["SyncMode"], detail["Url"]) == ("console-e2e-renamed", 1, f"http://{ANON}")
    assert report["syncedAfterEdit"].startswith("Synced") and by_id[report["registryId"]]["SyncStatus"] == "success"


def test_registry_images_and_the_one_key_scan_equal_the_api(ui, report):
    _, call, _, _, _, _ = ui
    rows = all_pages(call, "DescribeAssetImageRegistryList",
                     {"Filters": [{"Name": "RegistryId", "Values": [str(report["registryId"])], "ExactMatch": True}]})
    assert [(r["id"], r["repo"], r["tag"]) for r in report["registryImages"]] == [(r["Id"], r["ImageName"], r["ImageTag"]) for r in rows]
    mine = next(r for r in rows if r["ImageName"] == report["registryRepo"])
    assert mine["Id"] == report["registryImageRow"] and mine["ImageId"] == report["registryImage"]
    shown = next(r for r in report["registryImages"] if r["id"] == mine["Id"])
    assert (shown["status"], shown["risk"]) == (mine["ScanStatus"], mine["RiskCnt"]) == ("SCANNED", mine["RiskCnt"])
    assert mine["RiskCnt"] > 0, "the planted AWS key is found"
    assert report["registryDialogTitle"] == "Scan 1 image(s)"
    task_id = int(report["registryTask"]["title"].split()[2])
    s = call("DescribeAssetImageRegistryScanStatusOneKey", {"TaskID": task_id})
    assert (s["Status"], s["ImageTotal"], s["ImageScanCnt"], s["Schedule"]) == ("END", 1, 1, 100)
    assert report["registryTask"]["state"] == "Finished" and report["registryTask"]["text"].startswith("100 % · 1 of 1 images")
    # The whole registry (CreateAssetImageRegistryScanTask filtered by RegistryId): each of its image ids once.
    assert report["registryScanDialogTitle"] == "Scan the images of console-e2e-renamed"
    whole = call("DescribeAssetImageRegistryScanStatusOneKey", {"TaskID": int(report["registryWholeTask"]["title"].split()[2])})
    ids = {r["ImageId"] for r in rows}
    assert (whole["Status"], whole["ImageTotal"]) == ("END", len(ids)) and len(ids) >= 2
    assert report["registryWholeTask"]["text"].startswith(f"100 % · {len(ids)} of {len(ids)} images")
    sent = [r for r in report["requests"] if r["action"] == "CreateAssetImageRegistryScanTask"]
    assert len(sent) == 1


def test_compliance_whitelist_and_periodic_task_through_the_api(ui, report):
    _, call, _, _, _, _ = ui
    # While listed: the item on the one asset; removed afterwards.
    entry = next(w for w in report["whitelistRows"] if w["item"] == report["whitelistedItem"])
    assert entry["assets"] == 1
    left = call("DescribeComplianceWhitelistItemList", {"Limit": 100})
    assert all(w["WhitelistItemId"] != entry["id"] for w in left["WhitelistItemSet"])
    adds = [r for r in report["requests"] if r["action"] == "AddComplianceAssetPolicySetToWhitelist"]
    assert len(adds) == 1
    tasks = call("DescribeCompliancePeriodTaskList", {"AssetType": "ASSET_IMAGE"})["PeriodTaskSet"]
    assert tasks[0]["PeriodRule"] == {"Frequency": 7, "ExecutionTime": "03:04:05", "Enable": True}
    assert report["periodTasks"] == call("DescribeCompliancePeriodTaskList", {})["TotalCount"]


def test_settings_show_the_signed_in_key_masked(ui, report):
    _, _, key, _, _, _ = ui
    assert report["signedInKey"] == f"{key.secret_id[:8]}…{key.secret_id[-4:]}"
    assert key.secret_id not in json.dumps({k: v for k, v in report.items() if k != "requests"})


def test_registry_scan_schedule_saved_through_the_api(ui, report):
    _, call, _, _, _, _ = ui
    # Before: the defaults (off; no chosen images, so "Chosen images" cannot be picked).
    assert report["registryScheduleBefore"] == {"enabled": False, "chosenDisabled": True}
    s = call("DescribeImageRegistryTimingScanTask")
    assert (s["Enable"], s["ScanPeriod"], s["ScanTime"], s["ScanEndTime"]) == (True, 5, "04:05", "06:30")
    assert sorted(s["ScanType"]) == ["CVE", "RISK"]
    assert (s["ScanScope"], s["Latest"], s["ContainerRunning"], s["Id"], s["Images"]) == (2, True, False, [], [])
    # The page, reloaded, shows what the API holds.
    assert report["registryScheduleShown"] == {
        "enabled": True, "period": "5", "time": "04:05", "end": "06:30", "recommended": True, "latest": True,
        "kinds": {"Vulnerabilities": True, "Trojans": False, "Risks": True}, "next": report["registryScheduleShown"]["next"]}
    assert re.fullmatch(r"\d{4}-\d\d-\d\d 04:05 UTC", report["registryScheduleShown"]["next"])
    assert len([r for r in report["requests"] if r["action"] == "UpdateImageRegistryTimingScanTask"]) == 1


def metrics_gauge(endpoint, name):
    """A gauge's value from the server's /metrics, read as Prometheus would."""
    with urllib.request.urlopen(f"http://{endpoint}/metrics", timeout=30) as r:
        text = r.read().decode()
    return float(re.search(rf"^{name} (\S+)$", text, re.M).group(1))


def test_overview_shows_the_advisory_data_age(ui, report):
    srv, _, _, _, _, _ = ui
    # Debian advisories were imported just before the server started: minutes old, no warning.
    age = metrics_gauge(srv.endpoint, "shipshape_advisory_data_age_seconds")
    assert 0 <= age < 2 * 86400
    assert report["advisory"]["state"] == "ok" and report["advisory"]["warn"] is False
    assert re.fullmatch(r"Updated (less than a minute|\d+ (minute|hour)\(s\)) ago", report["advisory"]["value"]), report["advisory"]


def run_advisory_card(srv, root, name):
    keyfile = root / "key.json"
    key = srv.first_key()
    keyfile.write_text(json.dumps({"SecretId": key.secret_id, "SecretKey": key.secret_key}))
    out = root / f"{name}.json"
    cmd = ["node", "e2e/advisory.mjs", f"http://{srv.endpoint}", str(keyfile), str(out)]
    shots = os.environ.get("SHIPSHAPE_CONSOLE_SCREENSHOTS")
    if shots:
        cmd.append(str((REPO / shots / f"overview-advisory-{name}.png").resolve()))
    proc = subprocess.run(cmd, cwd=WEB,
                          capture_output=True, text=True, timeout=600, env={**os.environ, "CHROMIUM": CHROMIUM})
    data = json.loads(out.read_text()) if out.exists() else {"ok": False}
    assert proc.returncode == 0 and data.get("ok"), f"{data.get('error')}\n{proc.stderr[-3000:]}\n{srv.log()[-3000:]}"
    assert data["consoleErrors"] == []
    return data


def test_advisory_age_warns_without_data_and_clears_after_import(tmp_path):
    need(Path(CHROMIUM).exists(), f"no {CHROMIUM} (apt-get install chromium)")
    need((WEB / "node_modules" / "playwright-core").exists(), "no playwright-core: npm ci in crates/console/web")
    srv = Server("sqlite", tmp_path / "server")
    srv.data_dir.mkdir(parents=True)
    srv.start()
    try:
        # No advisory data: /metrics says -1 and the Overview warns.
        assert metrics_gauge(srv.endpoint, "shipshape_advisory_data_age_seconds") == -1
        before = run_advisory_card(srv, tmp_path, "before")
        shown = before["shown"]
        assert (shown["state"], shown["warn"], shown["label"], shown["value"]) == ("none", True, "Advisory data", "⚠ No advisory data")
        assert "db update" in shown["sub"]
        # /metrics refused in the browser: "Unknown", not a guess and not a warning of no data.
        blocked = before["blocked"]
        assert (blocked["state"], blocked["warn"], blocked["value"]) == ("unknown", False, "Unknown")
        assert blocked["border"] != shown["border"], "the warning is styled"

        # A small feed imported while the server runs: the age shows, the warning goes.
        imp = srv.cli("db", "import", str(SHARED / "vulndata" / "osv" / "Maven"))
        assert imp.returncode == 0, imp.stderr
        assert 0 <= metrics_gauge(srv.endpoint, "shipshape_advisory_data_age_seconds") < 2 * 86400
        after = run_advisory_card(srv, tmp_path, "after")["shown"]
        assert (after["state"], after["warn"]) == ("ok", False), after
        assert re.fullmatch(r"Updated (less than a minute|\d+ (minute|hour)\(s\)) ago", after["value"]), after
        assert after["sub"] == ""
    finally:
        srv.stop()
