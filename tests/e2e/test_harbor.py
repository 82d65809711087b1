"""Harbor's Pluggable Scanner API v1.2, driven exactly as Harbor drives it (the spec's request
bodies, headers and polling), against `shipshape serve` and the real basic-auth registry of
scripts/services.sh. Every response body is validated against the spec's OpenAPI schemas
(../shared/spec/harbor/scanner-adapter-openapi-v1.2.yaml).

Harbor itself cannot run here; what it sends is what these tests send: `registry.url`, a
`Basic` robot credential in `registry.authorization`, the artifact by repository and digest,
`Authorization: Bearer TOKEN` on every call, then `GET .../report` until 200 or 500.
"""
import base64
import json
import os
import subprocess
import time
import uuid

import jsonschema
import pytest
import requests
import yaml

from conftest import Server, create_pg_database, make_call, services_required, shipshape_bin
from test_image_scan import IMAGE, SHARED, docker_image_id, wait_image

AUTH = os.environ.get("SHIPSHAPE_TEST_REGISTRY_AUTH")
USER = os.environ.get("SHIPSHAPE_TEST_REGISTRY_USER")
PASSWORD = os.environ.get("SHIPSHAPE_TEST_REGISTRY_PASSWORD")
SPEC = yaml.safe_load((SHARED / "spec" / "harbor" / "scanner-adapter-openapi-v1.2.yaml").read_text())

VULN_1_1 = "application/vnd.security.vulnerability.report; version=1.1"
VULN_HARBOR = "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0"
SBOM = "application/vnd.security.sbom.report+json; version=1.0"
SCAN_REQUEST = "application/vnd.scanner.adapter.scan.request+json; version=1.1"
MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def validate(body, schema_name):
    """Validates `body` against components.schemas[schema_name] (OpenAPI 3.0 → JSON Schema draft 7)."""
    text = json.dumps(SPEC["components"]["schemas"]).replace("#/components/schemas/", "#/definitions/")
    schema = {"$ref": f"#/definitions/{schema_name}", "definitions": json.loads(text)}
    jsonschema.Draft7Validator(schema).validate(body)


def need_registry():
    if not (AUTH and USER and PASSWORD):
        if services_required():
            pytest.fail("SHIPSHAPE_TEST_SERVICES=1 but the SHIPSHAPE_TEST_REGISTRY_AUTH variables are unset")
        pytest.skip("no test registry")


@pytest.fixture(scope="module")
def pushed(tmp_path_factory):
    """The bookworm test image in the basic-auth registry: (repository, tag, manifest digest, image id)."""
    need_registry()
    image_id = docker_image_id()
    repo, tag = f"harbor-e2e/{uuid.uuid4().hex[:8]}", "1"
    digest_file = tmp_path_factory.mktemp("push") / "digest"
    subprocess.run(["skopeo", "copy", "-q", "--dest-tls-verify=false", "--dest-creds", f"{USER}:{PASSWORD}",
                    "--digestfile", str(digest_file), f"docker-daemon:{IMAGE}", f"docker://{AUTH}/{repo}:{tag}"],
                   check=True, capture_output=True, timeout=600)
    return repo, tag, digest_file.read_text().strip(), image_id


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def harbor(request, tmp_path_factory):
    """A server with Debian and PyPI advisories, and a Harbor token for its first account."""
    root = tmp_path_factory.mktemp(f"harbor-{request.param}")
    database = None
    if request.param == "postgres":
        database = create_pg_database()
        if database is None:
            pytest.skip("SHIPSHAPE_TEST_PG unset")
    srv = Server(request.param, root, database=database)
    srv.data_dir.mkdir(parents=True, exist_ok=True)
    for eco in ("Debian", "PyPI"):
        srv.cli("db", "import", str(SHARED / "vulndata" / "osv" / eco))
    srv.start()
    token = srv.cli("harbor", "token", "create").stdout.strip().splitlines()[-1]
    yield srv, token
    srv.stop()


def url(srv, path):
    return f"http://{srv.endpoint}/api/v1{path}"


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def scan_body(repo, tag, digest, user=None, password=None, **extra):
    cred = base64.b64encode(f"{user or USER}:{password or PASSWORD}".encode()).decode()
    return {"registry": {"url": f"http://{AUTH}", "authorization": f"Basic {cred}"},
            "artifact": {"repository": repo, "digest": digest, "tag": tag, "mime_type": MANIFEST}, **extra}


def post_scan(srv, token, body):
    return requests.post(url(srv, "/scan"), data=json.dumps(body) if not isinstance(body, (str, bytes)) else body,
                         headers={**bearer(token), "Content-Type": SCAN_REQUEST}, timeout=30)


def poll_report(srv, token, scan_id, accept=VULN_1_1, params=None, timeout=600):
    """GET the report as Harbor does: 302 + Refresh-After while running, until 200 or 500."""
    deadline, seen_302 = time.time() + timeout, 0
    while time.time() < deadline:
        r = requests.get(url(srv, f"/scan/{scan_id}/report"), headers={**bearer(token), "Accept": accept},
                         params=params, allow_redirects=False, timeout=30)
        if r.status_code != 302:
            return r, seen_302
        seen_302 += 1
        assert int(r.headers["Refresh-After"]) >= 1
        time.sleep(0.3)
    raise AssertionError(f"scan {scan_id} still running after {timeout}s")


def test_metadata_and_tokens(harbor):
    srv, token = harbor
    for headers in ({}, bearer("shh_wrong"), {"Authorization": f"Basic {token}"}):
        r = requests.get(url(srv, "/metadata"), headers=headers, timeout=30)
        assert r.status_code == 401, headers
        validate(r.json(), "ErrorResponse")
        assert r.headers["Content-Type"] == "application/vnd.scanner.adapter.error+json; version=1.0"
    r = requests.get(url(srv, "/metadata"), headers=bearer(token), timeout=30)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/vnd.scanner.adapter.metadata+json; version=1.0"
    m = r.json()
    validate(m, "ScannerAdapterMetadata")
    caps = {c["type"]: c for c in m["capabilities"]}
    assert set(caps["vulnerability"]["produces_mime_types"]) == {VULN_1_1, VULN_HARBOR}
    assert caps["sbom"]["produces_mime_types"] == [SBOM]
    assert caps["sbom"]["additional_attributes"]["sbom_media_types"] == ["application/spdx+json", "application/vnd.cyclonedx+json"]
    assert m["scanner"]["name"] == "Shipshape"
    assert m["properties"]["harbor.scanner-adapter/vulnerability-database-updated-at"].endswith("Z")
    # A revoked token is refused.
    out = srv.cli("harbor", "token", "create")
    second = out.stdout.strip().splitlines()[-1]
    token_id = next(x.split()[1] for x in out.stderr.splitlines() if x.startswith("token "))
    assert requests.get(url(srv, "/metadata"), headers=bearer(second), timeout=30).status_code == 200
    listed = {t["TokenId"]: t for t in json.loads(srv.cli("harbor", "token", "list").stdout)}
    assert listed[token_id]["Status"] == "enabled" and second not in json.dumps(listed)
    srv.cli("harbor", "token", "revoke", token_id)
    assert requests.get(url(srv, "/metadata"), headers=bearer(second), timeout=30).status_code == 401
    assert requests.get(url(srv, "/metadata"), headers=bearer(token), timeout=30).status_code == 200


def test_scan_reports_agree_with_tcss_and_the_cli(harbor, pushed, tmp_path):
    srv, token = harbor
    repo, tag, digest, image_id = pushed
    r = post_scan(srv, token, scan_body(repo, tag, digest))
    assert r.status_code == 202, r.text
    assert r.headers["Content-Type"] == "application/vnd.scanner.adapter.scan.response+json; version=1.0"
    validate(r.json(), "ScanResponse")
    scan_id = r.json()["id"]

    rep, seen_302 = poll_report(srv, token, scan_id)
    assert rep.status_code == 200, rep.text
    assert seen_302 >= 1, "a cold scan is reported as running first"
    assert rep.headers["Content-Type"] == VULN_1_1
    report = rep.json()
    validate(report, "HarborVulnerabilityReport")
    assert report["artifact"]["digest"] == digest and report["artifact"]["repository"] == repo
    vulns = report["vulnerabilities"]
    assert vulns, "the bookworm test image has known vulnerabilities"
    order = ["Unknown", "Negligible", "Low", "Medium", "High", "Critical"]
    assert report["severity"] == max((v["severity"] for v in vulns), key=order.index)
    assert any(v.get("fix_version") for v in vulns) and any(v.get("preferred_cvss") for v in vulns)
    assert any(v["id"].startswith("CVE-") for v in vulns)

    # The other vulnerability MIME type carries the same body.
    rep2, _ = poll_report(srv, token, scan_id, accept=VULN_HARBOR)
    assert rep2.status_code == 200 and rep2.headers["Content-Type"] == VULN_HARBOR
    assert rep2.json() == report

    # The CLI scanning the same registry image finds the same (id, package, version) set.
    cache = tmp_path / "cli-cache"
    out = subprocess.run([shipshape_bin(), "image", "scan", f"registry:{AUTH}/{repo}@{digest}", "--insecure-registry",
                          "--registry-username", USER, "--registry-password", PASSWORD, "--scanners", "vuln",
                          "--format", "json", "--cache-dir", str(cache), *srv.global_args()],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    cli = json.loads(out.stdout)["vulnerabilities"]
    key = lambda v: (v["id"], v["package"], v["version"], v["vendor_attributes"]["advisory_id"])  # noqa: E731
    harbor_by_key = {key(v): v for v in vulns}
    assert len(harbor_by_key) == len(vulns) == len(cli)
    words = {"CRITICAL": "Critical", "HIGH": "High", "MEDIUM": "Medium", "LOW": "Low", "UNKNOWN": "Unknown"}
    for c in cli:
        h = harbor_by_key[(c["display_id"], c["package"]["name"], c["package"]["version"], c["advisory_id"])]
        assert h["severity"] == words[c["severity"].upper()], (c, h)
        assert h.get("fix_version", "") == ", ".join(c["fixed_versions"])
        assert h["cwe_ids"] == c.get("cwes", [])
        assert h["links"] == [x for x in c["links"] if x.startswith("http")]
        if c.get("cvss_vector", "").startswith("CVSS:3"):
            assert h["preferred_cvss"] == {"score_v3": c["cvss_score"], "vector_v3": c["cvss_vector"]}

    # SBOM reports in both media types.
    spdx, _ = poll_report(srv, token, scan_id, accept=SBOM, params={"sbom_media_type": "application/spdx+json"})
    assert spdx.status_code == 200 and spdx.headers["Content-Type"] == SBOM
    validate(spdx.json(), "HarborSbomReport")
    assert spdx.json()["media_type"] == "application/spdx+json"
    assert spdx.json()["sbom"]["spdxVersion"] == "SPDX-2.3" and len(spdx.json()["sbom"]["packages"]) > 50
    cdx, _ = poll_report(srv, token, scan_id, accept=SBOM, params={"sbom_media_type": "application/vnd.cyclonedx+json"})
    assert cdx.status_code == 200 and cdx.json()["sbom"]["bomFormat"] == "CycloneDX"
    validate(cdx.json(), "HarborSbomReport")
    for params in (None, {"sbom_media_type": "text/plain"}):
        bad, _ = poll_report(srv, token, scan_id, accept=SBOM, params=params)
        assert bad.status_code == 400, params
        validate(bad.json(), "ErrorResponse")
    raw, _ = poll_report(srv, token, scan_id, accept="application/vnd.scanner.adapter.vuln.report.raw")
    assert raw.status_code == 501
    validate(raw.json(), "ErrorResponse")

    # The TCSS view of the token's account holds the image, its registry name and the same findings.
    call = make_call(srv.endpoint, srv.first_key())
    item = wait_image(call, image_id)
    detail = call("DescribeAssetImageDetail", {"ImageID": image_id})
    assert detail["ScanStatus"] == "SCANNED"
    names = call("DescribeAssetImageList", {"Limit": 100, "Filters": [{"Name": "ImageName", "Values": [f"{AUTH}/{repo}:{tag}"],
                                                                      "ExactMatch": True}]})
    assert names["TotalCount"] == 1 and names["List"][0]["ImageID"] == image_id, (names, item)
    tcss = call("DescribeAssetImageVulList", {"ImageID": image_id, "Limit": 100})
    assert tcss["TotalCount"] == len(vulns)
    assert call("DescribeAssetImageRiskList", {"ImageID": image_id, "Limit": 100})["TotalCount"] > 0, "secrets scanned too"

    # A second scan of the same artifact reads no layer again (the layer cache is shared).
    r = post_scan(srv, token, scan_body(repo, tag, digest))
    again, _ = poll_report(srv, token, r.json()["id"])
    assert again.status_code == 200
    assert sorted(json.dumps(v, sort_keys=True) for v in again.json()["vulnerabilities"]) == \
        sorted(json.dumps(v, sort_keys=True) for v in vulns)
    line = [x for x in srv.log().splitlines() if "harbor scan indexed" in x and r.json()["id"] in x][-1]
    assert "bytes_walked=0" in line, line


def test_bad_requests_and_failed_scans(harbor, pushed):
    srv, token = harbor
    repo, tag, digest, _ = pushed
    # Malformed JSON, wrong types → 400; missing or invalid fields → 422; unsupported artifact → 501.
    for body, status in [
        (b"{not json", 400),
        ({"registry": {"url": 5}, "artifact": {}}, 400),
        ({"artifact": {"repository": repo, "digest": digest}}, 422),
        ({"registry": {"url": f"http://{AUTH}"}, "artifact": {"repository": repo}}, 422),
        ({"registry": {"url": "not a url"}, "artifact": {"repository": repo, "digest": digest}}, 422),
        ({"registry": {"url": f"http://{AUTH}"}, "artifact": {"repository": repo, "digest": digest},
          "enabled_capabilities": [{"type": "malware"}]}, 422),
        ({"registry": {"url": f"http://{AUTH}"}, "artifact": {"repository": repo, "digest": digest,
                                                             "mime_type": "application/vnd.cncf.helm.config.v1+json"}}, 501),
    ]:
        r = post_scan(srv, token, body)
        assert r.status_code == status, (body, r.status_code, r.text)
        validate(r.json(), "ErrorResponse")
    assert requests.get(url(srv, f"/scan/{uuid.uuid4()}/report"), headers={**bearer(token), "Accept": VULN_1_1},
                        timeout=30).status_code == 404

    # A wrong robot credential and a missing manifest end as 500 naming why, never an endless 302.
    r = post_scan(srv, token, scan_body(repo, tag, digest, password="wrong"))
    rep, _ = poll_report(srv, token, r.json()["id"])
    assert rep.status_code == 500
    validate(rep.json(), "ErrorResponse")
    assert "unauthor" in rep.json()["error"]["message"].lower() or "denied" in rep.json()["error"]["message"].lower(), rep.text
    missing = "sha256:" + "0" * 64
    r = post_scan(srv, token, scan_body(repo, tag, missing))
    rep, _ = poll_report(srv, token, r.json()["id"])
    assert rep.status_code == 500 and missing in rep.json()["error"]["message"], rep.text

    # Another account's token does not see this account's scans.
    other = srv.new_key()
    other_token = srv.cli("harbor", "token", "create", "--app-id", str(other.app_id)).stdout.strip().splitlines()[-1]
    assert requests.get(url(srv, f"/scan/{r.json()['id']}/report"), headers={**bearer(other_token), "Accept": VULN_1_1},
                        timeout=30).status_code == 404
