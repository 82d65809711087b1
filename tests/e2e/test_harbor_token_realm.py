"""Harbor's registry auth: the Docker *token* flow, which Harbor's own registry uses.

A real Debian `docker-registry` is started with `auth: token` and a root certificate made here;
it answers 401 with `WWW-Authenticate: Bearer realm=…,service=…` and accepts only RS256 JWTs
whose `x5c` chain ends in that certificate. The realm is a token server run in this process: it
checks a Harbor robot account's Basic credential (`robot$e2e:s3cret`) and mints a JWT with the
access asked for (pull, push), counting every request it serves.

skopeo pushes the bookworm test image through that flow; then `shipshape serve` is driven as
Harbor drives it (see test_harbor.py): `registry.authorization: Basic base64(robot:secret)` must
be traded at the realm by the scanner, a `Bearer JWT` must be sent to the registry as is, and a
wrong robot password must end as a 500 ErrorResponse naming the refusal.
"""
import base64
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from Crypto.Hash import SHA256
from Crypto.PublicKey import RSA
from Crypto.Signature import pkcs1_15

from conftest import Server, free_port, services_required
from test_harbor import MANIFEST, SCAN_REQUEST, poll_report, post_scan, validate
from test_image_scan import IMAGE, SHARED, docker_image_id

ROBOT, ROBOT_SECRET = "robot$e2e", "s3cret"
SERVICE, ISSUER = "shipshape-e2e-registry", "shipshape-e2e-token-issuer"
TOOLS = ("docker-registry", "skopeo", "openssl")


def need_tools():
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        if services_required():
            pytest.fail(f"SHIPSHAPE_TEST_SERVICES=1 but {', '.join(missing)} not found")
        pytest.skip(f"{', '.join(missing)} not installed")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Signer:
    """A self-signed RSA certificate (the registry's rootcertbundle) and RS256 JWTs it signs."""

    def __init__(self, directory: Path):
        self.cert_path, key_path = directory / "cert.pem", directory / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
                        "-subj", "/CN=shipshape e2e token issuer", "-keyout", str(key_path), "-out", str(self.cert_path)],
                       check=True, capture_output=True, timeout=120)
        self.key = RSA.import_key(key_path.read_bytes())
        der = subprocess.run(["openssl", "x509", "-in", str(self.cert_path), "-outform", "DER"],
                             check=True, capture_output=True, timeout=60).stdout
        self.x5c = [base64.b64encode(der).decode()]  # standard base64 (RFC 7515 §4.1.6), not base64url

    def jwt(self, subject: str, access: list[dict], ttl: int = 300) -> str:
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": self.x5c}
        claims = {"iss": ISSUER, "sub": subject, "aud": SERVICE, "exp": now + ttl, "nbf": now - 10, "iat": now,
                  "jti": uuid.uuid4().hex, "access": access}
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        sig = pkcs1_15.new(self.key).sign(SHA256.new(signing_input.encode()))
        return f"{signing_input}.{b64url(sig)}"


def granted(scopes: list[str]) -> list[dict]:
    """The access a robot with pull and push on every repository gets for the scopes asked."""
    out = []
    for scope in scopes:
        kind, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        if kind != "repository" or not name:
            continue
        allowed = [a for a in actions.split(",") if a in ("pull", "push")]
        out.append({"type": "repository", "name": name, "actions": allowed})
    return out


class TokenServer:
    """The realm: GET /service/token?service=…&scope=… with the robot's Basic credential."""

    def __init__(self, signer: Signer):
        self.signer, self.requests, self.lock = signer, [], threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                parsed = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(parsed.query)
                scopes = [s for v in query.get("scope", []) for s in v.split(" ") if s]
                user, password = None, None
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    try:
                        user, _, password = base64.b64decode(auth[6:].strip()).decode().partition(":")
                    except ValueError:
                        pass
                ok = parsed.path == "/service/token" and (user, password) == (ROBOT, ROBOT_SECRET) \
                    and query.get("service") == [SERVICE]
                entry = {"user": user, "ok": ok, "scopes": scopes, "service": query.get("service"),
                         "user_agent": self.headers.get("User-Agent", "")}
                with outer.lock:
                    outer.requests.append(entry)
                if not ok:
                    body = json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": "invalid robot credential"}]})
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="harbor"')
                else:
                    token = outer.signer.jwt(user, granted(scopes))
                    body = json.dumps({"token": token, "access_token": token, "expires_in": 300,
                                       "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
                    self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.realm = f"http://127.0.0.1:{self.port}/service/token"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def since(self, n: int) -> list[dict]:
        with self.lock:
            return list(self.requests[n:])

    def count(self) -> int:
        with self.lock:
            return len(self.requests)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def realm():
    """(registry host:port, token server, signer, registry log path), all torn down after the module."""
    need_tools()
    root = Path(tempfile.mkdtemp(prefix="shipshape-e2e-token-"))
    token_server, proc = None, None
    try:
        signer = Signer(root)
        token_server = TokenServer(signer)
        port = free_port()
        config = root / "registry.yml"
        config.write_text(f"""version: 0.1
log: {{level: info}}
storage: {{filesystem: {{rootdirectory: {root / "data"}}}}}
http: {{addr: 127.0.0.1:{port}}}
auth:
  token:
    realm: {token_server.realm}
    service: {SERVICE}
    issuer: {ISSUER}
    rootcertbundle: {signer.cert_path}
""")
        log_path = root / "registry.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log, stderr=log)
        host = f"127.0.0.1:{port}"
        deadline = time.time() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited {proc.returncode}:\n{log_path.read_text(errors='replace')}")
            try:
                r = requests.get(f"http://{host}/v2/", timeout=2)
                if r.status_code == 401:
                    break
            except requests.ConnectionError:
                pass
            if time.time() > deadline:
                raise RuntimeError(f"docker-registry did not answer:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.1)
        yield host, token_server, signer, log_path
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if token_server is not None:
            token_server.close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def pushed(realm):
    """The bookworm test image pushed by skopeo through the token flow: (repository, tag, digest)."""
    host, token_server, _, _ = realm
    docker_image_id()
    repo, tag = f"library/token-e2e-{uuid.uuid4().hex[:8]}", "1"
    with tempfile.TemporaryDirectory(prefix="shipshape-e2e-push-") as d:
        digest_file = Path(d) / "digest"
        before = token_server.count()
        out = subprocess.run(["skopeo", "copy", "-q", "--dest-tls-verify=false", "--dest-creds", f"{ROBOT}:{ROBOT_SECRET}",
                              "--digestfile", str(digest_file), f"docker-daemon:{IMAGE}", f"docker://{host}/{repo}:{tag}"],
                             capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr
        digest = digest_file.read_text().strip()
    served = token_server.since(before)
    assert any(r["ok"] and r["user"] == ROBOT and f"repository:{repo}:pull,push" in r["scopes"] for r in served), served
    return repo, tag, digest


@pytest.fixture(scope="module")
def scanner():
    """A dedicated SQLite `shipshape serve` with Debian advisories, and a Harbor token for its first account."""
    root = Path(tempfile.mkdtemp(prefix="shipshape-e2e-token-serve-"))
    srv = Server("sqlite", root / "serve")
    try:
        srv.data_dir.mkdir(parents=True, exist_ok=True)
        srv.cli("db", "import", str(SHARED / "vulndata" / "osv" / "Debian"))
        srv.start()
        token = srv.cli("harbor", "token", "create").stdout.strip().splitlines()[-1]
        yield srv, token
    finally:
        srv.stop()
        shutil.rmtree(root, ignore_errors=True)


def scan_body(host, repo, tag, digest, authorization):
    return {"registry": {"url": f"http://{host}", "authorization": authorization},
            "artifact": {"repository": repo, "digest": digest, "tag": tag, "mime_type": MANIFEST}}


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def scan(scanner, body):
    srv, token = scanner
    r = post_scan(srv, token, body)
    assert r.status_code == 202, r.text
    validate(r.json(), "ScanResponse")
    rep, _ = poll_report(srv, token, r.json()["id"])
    return rep


def test_registry_demands_a_token(realm, pushed):
    """The registry is really behind the realm: no credential and a Basic one are both challenged."""
    host, token_server, _, _ = realm
    repo, _, digest = pushed
    for headers in ({}, {"Authorization": basic(ROBOT, ROBOT_SECRET)}):
        r = requests.get(f"http://{host}/v2/{repo}/manifests/{digest}", headers={**headers, "Accept": MANIFEST}, timeout=30)
        assert r.status_code == 401, r.text
        challenge = r.headers["WWW-Authenticate"]
        assert challenge.startswith("Bearer ") and f'realm="{token_server.realm}"' in challenge, challenge
        assert f'service="{SERVICE}"' in challenge and f"repository:{repo}:pull" in challenge, challenge


def test_basic_robot_credential_is_traded_at_the_realm(realm, pushed, scanner):
    host, token_server, _, _ = realm
    repo, tag, digest = pushed
    before = token_server.count()
    rep = scan(scanner, scan_body(host, repo, tag, digest, basic(ROBOT, ROBOT_SECRET)))
    assert rep.status_code == 200, rep.text
    assert rep.headers["Content-Type"] == "application/vnd.security.vulnerability.report; version=1.1"
    report = rep.json()
    validate(report, "HarborVulnerabilityReport")
    assert report["artifact"]["repository"] == repo and report["artifact"]["digest"] == digest
    assert report["vulnerabilities"], "the bookworm test image has known vulnerabilities"
    served = token_server.since(before)
    asked = [r for r in served if r["user"] == ROBOT and f"repository:{repo}:pull" in r["scopes"]]
    assert asked and all(r["ok"] and r["service"] == [SERVICE] for r in asked), served
    assert not any("push" in s for r in asked for s in r["scopes"]), "a scanner asks for pull only"


def test_bearer_credential_is_sent_as_is(realm, pushed, scanner):
    host, token_server, signer, _ = realm
    repo, tag, digest = pushed
    jwt = signer.jwt(ROBOT, [{"type": "repository", "name": repo, "actions": ["pull"]}])
    before = token_server.count()
    rep = scan(scanner, scan_body(host, repo, tag, digest, f"Bearer {jwt}"))
    assert rep.status_code == 200, rep.text
    validate(rep.json(), "HarborVulnerabilityReport")
    assert rep.json()["vulnerabilities"]
    assert token_server.since(before) == [], "a Bearer credential is used as is, never traded at the realm"

    # The Bearer token is what the registry checks: one for another repository is refused.
    other = signer.jwt(ROBOT, [{"type": "repository", "name": repo + "-other", "actions": ["pull"]}])
    rep = scan(scanner, scan_body(host, repo, tag, digest, f"Bearer {other}"))
    assert rep.status_code == 500, rep.text
    validate(rep.json(), "ErrorResponse")
    msg = rep.json()["error"]["message"].lower()
    assert "unauthor" in msg or "denied" in msg, rep.text


def test_wrong_robot_password_is_a_500_naming_the_refusal(realm, pushed, scanner):
    host, token_server, _, _ = realm
    repo, tag, digest = pushed
    before = token_server.count()
    rep = scan(scanner, scan_body(host, repo, tag, digest, basic(ROBOT, "wrong")))
    assert rep.status_code == 500, rep.text
    assert rep.headers["Content-Type"] == "application/vnd.scanner.adapter.error+json; version=1.0"
    validate(rep.json(), "ErrorResponse")
    msg = rep.json()["error"]["message"].lower()
    assert "unauthor" in msg or "denied" in msg, rep.text
    # The realm's own reason reaches Harbor, not only the registry's anonymous 401 that follows
    # when a client drops the realm's refusal and asks without a token.
    assert "invalid robot credential" in msg, rep.text
    served = token_server.since(before)
    assert served and all(not r["ok"] and r["user"] == ROBOT for r in served), served
