"""`serve --tls-cert/--tls-key`: the official clients over HTTPS with a CA made here, certificate reload on
SIGHUP (a new connection sees the new certificate; a bad file keeps the old one), the CLI's pairing of the two
flags, and the warning for plain HTTP off loopback.

Certificates come from the openssl CLI (the `cryptography` package is not in the venv). Client CA options: the
Python SDK's `HttpProfile(protocol="https", certification=CA)`; the Node SDK has none of its own, so
NODE_EXTRA_CA_CERTS; tccli has none at all (it always verifies against certifi's bundle), so its run gets a
`certifi` module first on PYTHONPATH whose `where()` is the test CA.
"""
import hashlib
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.tcss.v20201101 import models, tcss_client

from conftest import HERE, Server, free_port, shipshape_bin, tccli_bin


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


LEAF_EXT = ("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A root CA, an intermediate, leaf A (chain: leaf + intermediate, EC) and leaf B (RSA, from the root)."""
    d = tmp_path_factory.mktemp("pki")
    (d / "leaf.ext").write_text(LEAF_EXT)
    (d / "ca.ext").write_text("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
            "-out", "ca.pem", "-days", "2", "-subj", "/CN=e2e root", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "int.key", "-out",
            "int.csr", "-subj", "/CN=e2e intermediate", cwd=d)
    openssl("x509", "-req", "-in", "int.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "2", "-out",
            "int.pem", "-days", "2", "-extfile", "ca.ext", cwd=d)
    for name, ca, newkey in (("a", "int", ["ec", "-pkeyopt", "ec_paramgen_curve:P-256"]), ("b", "ca", ["rsa:2048"])):
        openssl("req", "-newkey", *newkey, "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", "/CN=localhost", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-set_serial",
                "3" if name == "a" else "4", "-out", f"{name}.pem", "-days", "2", "-extfile", "leaf.ext", cwd=d)
    (d / "a-chain.pem").write_text((d / "a.pem").read_text() + (d / "int.pem").read_text())
    return d


def der_sha256(pem_path: Path) -> str:
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem_path.read_text())).hexdigest()


class TlsServer(Server):
    """`shipshape serve` with TLS: the served cert/key are copies that the tests may replace."""

    def __init__(self, root: Path, pki: Path):
        super().__init__("sqlite", root)
        self.cert, self.key, self.ca = root / "tls.pem", root / "tls.key", pki / "ca.pem"
        root.mkdir(parents=True, exist_ok=True)
        self.cert.write_text((pki / "a-chain.pem").read_text())
        self.key.write_text((pki / "a.key").read_text())
        self.extra = ["--tls-cert", str(self.cert), "--tls-key", str(self.key)]

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))

    def start(self):
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        cmd = [shipshape_bin(), "serve", "--listen", self.endpoint, "--db-update-every", "0",
               *self.global_args(), *self.extra]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, env={**os.environ, "RUST_LOG": "info"})
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"shipshape serve exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"https://{self.endpoint}/healthz", timeout=1, context=self.context()) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"shipshape serve did not answer https /healthz:\n{self.log()}")

    def peer_cert_sha256(self) -> str:
        """The leaf certificate of a new connection."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as raw:
            with self.context().wrap_socket(raw, server_hostname="localhost") as s:
                return hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory, pki):
    srv = TlsServer(tmp_path_factory.mktemp("tls") / "srv", pki).start()
    yield srv
    srv.stop()


def py_client(srv, key, certification):
    http = HttpProfile(endpoint=srv.endpoint, protocol="https", reqTimeout=30, certification=certification)
    return tcss_client.TcssClient(credential.Credential(key.secret_id, key.secret_key), "ap-guangzhou",
                                  ClientProfile(httpProfile=http))


def test_python_sdk_over_https_with_the_ca_bundle(tls_server):
    key = tls_server.first_key()
    resp = py_client(tls_server, key, str(tls_server.ca)).DescribeAssetImageScanSetting(
        models.DescribeAssetImageScanSettingRequest())
    assert json.loads(resp.to_json_string())["ScanPeriod"] is not None
    # The error envelope arrives intact over TLS too.
    with pytest.raises(TencentCloudSDKException) as e:
        py_client(tls_server, key, str(tls_server.ca)).call_json("NoSuchAction", {})
    assert e.value.get_code() == "InvalidAction" and e.value.get_request_id()


def test_untrusted_ca_and_plain_http_are_refused(tls_server):
    key = tls_server.first_key()
    # The SDK's default bundle (certifi) does not know the test CA.
    with pytest.raises(TencentCloudSDKException) as e:
        py_client(tls_server, key, None).DescribeAssetImageScanSetting(models.DescribeAssetImageScanSettingRequest())
    assert e.value.get_code() == "ClientNetworkError" and "CERTIFICATE_VERIFY_FAILED" in e.value.get_message()
    # Plain HTTP to the TLS port gets no HTTP answer.
    with pytest.raises((OSError, http.client.HTTPException)):
        urllib.request.urlopen(f"http://{tls_server.endpoint}/healthz", timeout=10).read()


def test_served_chain_includes_the_intermediate(tls_server, pki):
    # Clients trust only the root: the handshake succeeds only because the intermediate is served.
    assert tls_server.peer_cert_sha256() == der_sha256(pki / "a.pem")


def test_tccli_over_https(tls_server, tmp_path):
    shim = tmp_path / "shim" / "certifi"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text(
        f"def where():\n    return {str(tls_server.ca)!r}\n\n"
        f"def contents():\n    return open(where()).read()\n")
    key = tls_server.first_key()
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "TENCENTCLOUD_SECRET_ID": key.secret_id,
           "TENCENTCLOUD_SECRET_KEY": key.secret_key, "TENCENTCLOUD_REGION": "ap-guangzhou",
           "PYTHONPATH": str(shim.parent)}
    out = subprocess.run([tccli_bin(), "tcss", "DescribeAssetImageScanSetting", "--endpoint",
                          f"https://{tls_server.endpoint}"], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "ScanPeriod" in json.loads(out.stdout)


NODE_HTTPS = """
const { Client } = require("tencentcloud-sdk-nodejs/tencentcloud/services/tcss/v20201101/tcss_client");
const client = new Client({
  credential: { secretId: process.env.SHIPSHAPE_SECRET_ID, secretKey: process.env.SHIPSHAPE_SECRET_KEY },
  region: "ap-guangzhou",
  profile: { httpProfile: { endpoint: process.argv[1], protocol: "https://", reqTimeout: 10 } },
});
client.DescribeAssetImageScanSetting({}).then(
  (r) => console.log(JSON.stringify({ ok: true, response: r })),
  (e) => console.log(JSON.stringify({ ok: false, code: e.code, message: String(e.message) })));
"""


@pytest.mark.parametrize("trusted", [True, False])
def test_node_sdk_over_https(tls_server, trusted):
    node_dir = HERE / "node"
    if not (node_dir / "node_modules" / "tencentcloud-sdk-nodejs").exists():
        pytest.fail("run `npm install` in tests/e2e/node first")
    key = tls_server.first_key()
    env = {**os.environ, "SHIPSHAPE_SECRET_ID": key.secret_id, "SHIPSHAPE_SECRET_KEY": key.secret_key}
    env.pop("NODE_EXTRA_CA_CERTS", None)
    if trusted:
        env["NODE_EXTRA_CA_CERTS"] = str(tls_server.ca)
    out = subprocess.run(["node", "-e", NODE_HTTPS, tls_server.endpoint], capture_output=True, text=True, env=env,
                         timeout=120, cwd=node_dir)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    if trusted:
        assert got["ok"] and "ScanPeriod" in got["response"], got
    else:
        assert not got["ok"] and "certificate" in got["message"].lower(), got


def wait_for_log(srv, text, count):
    """Polls the server log until `text` appears `count` times (the signal is handled asynchronously)."""
    deadline = time.time() + 30
    while time.time() < deadline:
        if srv.log().count(text) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not logged {count} time(s):\n{srv.log()}")


def test_sighup_reloads_for_new_connections_and_keeps_the_old_on_a_bad_file(tmp_path, pki):
    srv = TlsServer(tmp_path / "srv", pki).start()
    try:
        key = srv.first_key()
        assert srv.peer_cert_sha256() == der_sha256(pki / "a.pem")
        # A connection opened before the reload keeps working after it.
        old = srv.context().wrap_socket(socket.create_connection(("127.0.0.1", srv.port), timeout=10),
                                        server_hostname="localhost")

        srv.cert.write_text((pki / "b.pem").read_text())
        srv.key.write_text((pki / "b.key").read_text())
        srv.proc.send_signal(signal.SIGHUP)
        wait_for_log(srv, "TLS certificate reloaded", 1)
        assert srv.peer_cert_sha256() == der_sha256(pki / "b.pem")
        client = py_client(srv, key, str(srv.ca))
        assert client.DescribeAssetImageScanSetting(models.DescribeAssetImageScanSettingRequest()).RequestId

        old.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        assert b"200 OK" in old.recv(4096)
        old.close()

        # A certificate that does not fit the key, then garbage: both refused, B stays in service.
        srv.cert.write_text((pki / "a-chain.pem").read_text())
        srv.proc.send_signal(signal.SIGHUP)
        wait_for_log(srv, "TLS certificate not reloaded", 1)
        srv.cert.write_text("not a certificate\n")
        srv.proc.send_signal(signal.SIGHUP)
        wait_for_log(srv, "TLS certificate not reloaded", 2)
        assert srv.proc.poll() is None
        assert srv.peer_cert_sha256() == der_sha256(pki / "b.pem")
        assert client.DescribeAssetImageScanSetting(models.DescribeAssetImageScanSettingRequest()).RequestId
        assert "does not fit" in srv.log() and "no PEM CERTIFICATE" in srv.log()
    finally:
        assert srv.stop() == 0


@pytest.mark.parametrize("given", ["--tls-cert", "--tls-key"])
def test_one_tls_flag_without_the_other_is_a_cli_error(tmp_path, pki, given):
    out = subprocess.run([shipshape_bin(), "--data-dir", str(tmp_path), "serve", given, str(pki / "a.pem")],
                         capture_output=True, text=True, timeout=60)
    other = "--tls-key" if given == "--tls-cert" else "--tls-cert"
    assert out.returncode == 2 and other in out.stderr, out.stderr


def test_unusable_certificate_stops_the_start(tmp_path, pki):
    out = subprocess.run([shipshape_bin(), "--data-dir", str(tmp_path), "serve", "--listen", f"127.0.0.1:{free_port()}",
                          "--tls-cert", str(pki / "a.pem"), "--tls-key", str(pki / "b.key")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "does not fit" in out.stderr, out.stderr


def test_plain_http_off_loopback_warns(tmp_path):
    srv = Server("sqlite", tmp_path / "srv")
    srv.endpoint = f"0.0.0.0:{srv.port}"
    srv.data_dir.mkdir(parents=True)
    log = open(srv.log_path, "ab")
    srv.proc = subprocess.Popen([shipshape_bin(), "serve", "--listen", srv.endpoint, "--db-update-every", "0",
                                 *srv.global_args()], stdout=log, stderr=log, env={**os.environ, "RUST_LOG": "info"})
    try:
        wait_for_log(srv, "serving plain HTTP on a non-loopback address", 1)
    finally:
        assert srv.stop() == 0
    loopback = Server("sqlite", tmp_path / "loopback").start()
    assert loopback.stop() == 0
    assert "non-loopback" not in loopback.log()
