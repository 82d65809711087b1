"""End-to-end fixtures: the real `shipshape` binary driven by the official clients.

Reusable by every engineer's e2e tests:
  server       a running `shipshape serve` (SQLite; also PostgreSQL when SHIPSHAPE_TEST_PG is set), session-wide
  sqlite_server  the SQLite one only
  account      a fresh account + key on `server` (a Key), so tests never share rate-limit budgets or data
  tcss         the official Python TcssClient for `account`
  call         call(action, params) through the SDK's generic CommonClient; returns the Response dict,
               raises TencentCloudSDKException
  tccli        tccli(action, *args) -> CompletedProcess, with a scratch HOME
  node_call    node_call(action, params) -> dict printed by node/call.js
Binary: env SHIPSHAPE_BIN, else $CARGO_TARGET_DIR/debug/shipshape, else <repo>/target/debug/shipshape.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

from tencentcloud.common import credential  # noqa: E402
from tencentcloud.common.common_client import CommonClient  # noqa: E402
from tencentcloud.common.profile.client_profile import ClientProfile  # noqa: E402
from tencentcloud.common.profile.http_profile import HttpProfile  # noqa: E402
from tencentcloud.tcss.v20201101 import tcss_client  # noqa: E402


def shipshape_bin() -> str:
    if os.environ.get("SHIPSHAPE_BIN"):
        return os.environ["SHIPSHAPE_BIN"]
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    for profile in ("debug", "release"):
        p = target / profile / "shipshape"
        if p.exists():
            return str(p)
    pytest.exit(f"shipshape binary not found under {target}; build it or set SHIPSHAPE_BIN", 2)


def services_required() -> bool:
    return os.environ.get("SHIPSHAPE_TEST_SERVICES") == "1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Key:
    secret_id: str
    secret_key: str
    app_id: int


class Server:
    """One `shipshape serve` process with its own data dir (and database)."""

    def __init__(self, backend: str, data_dir: Path, database: str | None = None, rate_limit: int = 20, extra=()):
        self.backend, self.data_dir, self.database = backend, Path(data_dir), database
        self.rate_limit, self.extra = rate_limit, list(extra)
        self.port = free_port()
        self.endpoint = f"127.0.0.1:{self.port}"
        self.proc = None
        self.log_path = self.data_dir / "serve.log"

    def global_args(self):
        args = ["--data-dir", str(self.data_dir)]
        if self.database:
            args += ["--database", self.database]
        return args

    def start(self):
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        # --db-update-every 0: tests load advisory data themselves, never from the internet.
        cmd = [shipshape_bin(), "serve", "--listen", self.endpoint, "--rate-limit", str(self.rate_limit),
               "--db-update-every", "0", *self.global_args(), *self.extra]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, env={**os.environ, "RUST_LOG": "info"})
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"shipshape serve exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"http://{self.endpoint}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"shipshape serve did not answer /healthz:\n{self.log()}")

    def stop(self) -> int:
        """SIGTERM (graceful shutdown); returns the exit code."""
        if self.proc is None:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.proc = None
        return code

    def restart(self):
        code = self.stop()
        assert code == 0, f"graceful shutdown exited {code}:\n{self.log()}"
        return self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def cli(self, *args, check=True) -> subprocess.CompletedProcess:
        """Runs `shipshape <args> --data-dir … [--database …]`."""
        return subprocess.run([shipshape_bin(), *args, *self.global_args()], capture_output=True, text=True,
                              check=check, timeout=60)

    def first_key(self) -> Key:
        c = json.loads((self.data_dir / "credentials.json").read_text())
        return Key(c["SecretId"], c["SecretKey"], c["AppId"])

    def new_key(self, app_id: int | None = None) -> Key:
        args = ["keys", "create"] + (["--app-id", str(app_id)] if app_id is not None else [])
        c = json.loads(self.cli(*args).stdout)
        return Key(c["SecretId"], c["SecretKey"], c["AppId"])


def create_pg_database() -> str | None:
    """A fresh database on the SHIPSHAPE_TEST_PG server; None when that is unset."""
    base = os.environ.get("SHIPSHAPE_TEST_PG")
    if not base:
        if services_required():
            pytest.fail("SHIPSHAPE_TEST_SERVICES=1 but SHIPSHAPE_TEST_PG is unset")
        return None
    name = "shipshape_e2e_" + uuid.uuid4().hex[:12]
    psql = shutil.which("psql")
    if psql is None:
        pytest.fail("psql is needed to create the PostgreSQL test database")
    subprocess.run([psql, base, "-v", "ON_ERROR_STOP=1", "-qc", f"CREATE DATABASE {name}"], check=True, timeout=60)
    head, _, query = base.partition("?")
    scheme, _, rest = head.partition("://")
    hostpart = rest.split("/", 1)[0]
    return f"{scheme}://{hostpart}/{name}" + (f"?{query}" if query else "")


def copy_master_key(src: Server, *dirs: Path):
    """Gives each data dir `src`'s master.key: every process on one database seals with the same key, as a
    deployment's shared secret provides."""
    for d in dirs:
        d.mkdir(mode=0o700, exist_ok=True)
        shutil.copy(src.data_dir / "master.key", d / "master.key")
        os.chmod(d / "master.key", 0o600)


def start_worker(src: Server, data_dir: Path, database: str, *, inventory_every=2, log_filter="info") -> subprocess.Popen:
    """`shipshape worker` on `database` with `src`'s master key, its output in DATA_DIR/worker.log."""
    copy_master_key(src, data_dir)
    log = open(data_dir / "worker.log", "ab")
    return subprocess.Popen([shipshape_bin(), "worker", "--data-dir", str(data_dir), "--database", database,
                             "--db-update-every", "0", "--inventory-every", str(inventory_every)],
                            stdout=log, stderr=log, env={**os.environ, "RUST_LOG": log_filter})


BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def tmp_root():
    d = Path(tempfile.mkdtemp(prefix="shipshape-e2e-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _start(backend: str, root: Path) -> Server | None:
    if backend == "sqlite":
        return Server("sqlite", root / "sqlite").start()
    url = create_pg_database()
    if url is None:
        return None
    return Server("postgres", root / "postgres", database=url).start()


@pytest.fixture(scope="session", params=BACKENDS)
def server(request, tmp_root):
    srv = _start(request.param, tmp_root)
    if srv is None:
        print("SHIPSHAPE_TEST_PG unset: PostgreSQL variant skipped")
        pytest.skip("SHIPSHAPE_TEST_PG unset")
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def sqlite_server(tmp_root):
    srv = Server("sqlite", tmp_root / "sqlite-only").start()
    yield srv
    srv.stop()


@pytest.fixture
def account(server) -> Key:
    return server.new_key()


def profile(endpoint, **kw):
    return ClientProfile(httpProfile=HttpProfile(endpoint=endpoint, protocol="http", reqTimeout=30), **kw)


def make_tcss(endpoint, key: Key, **kw):
    return tcss_client.TcssClient(credential.Credential(key.secret_id, key.secret_key), "ap-guangzhou",
                                  profile(endpoint, **kw))


def make_call(endpoint, key: Key, version="2020-11-01", **kw):
    client = CommonClient("tcss", version, credential.Credential(key.secret_id, key.secret_key), "ap-guangzhou",
                          profile=profile(endpoint, **kw))

    def call(action, params=None):
        return client.call_json(action, params or {})["Response"]

    return call


@pytest.fixture
def tcss(server, account):
    return make_tcss(server.endpoint, account)


@pytest.fixture
def call(server, account):
    return make_call(server.endpoint, account)


def tccli_bin() -> str:
    venv = REPO / ".venv" / "bin" / "tccli"
    return str(venv) if venv.exists() else (shutil.which("tccli") or "tccli")


@pytest.fixture
def tccli(server, account, tmp_path):
    """tccli(action, *args, key=account) with a scratch HOME; endpoint must carry http:// (protocol.md §1)."""
    home = tmp_path / "home"
    home.mkdir()

    def run(action, *args, key: Key = account):
        env = {**os.environ, "HOME": str(home), "TENCENTCLOUD_SECRET_ID": key.secret_id,
               "TENCENTCLOUD_SECRET_KEY": key.secret_key, "TENCENTCLOUD_REGION": "ap-guangzhou"}
        return subprocess.run([tccli_bin(), "tcss", action, "--endpoint", f"http://{server.endpoint}", *args],
                              capture_output=True, text=True, env=env, timeout=120)

    return run


@pytest.fixture
def node_call(server, account):
    node_dir = HERE / "node"
    if not (node_dir / "node_modules" / "tencentcloud-sdk-nodejs").exists():
        pytest.fail("run `npm install` in tests/e2e/node first")

    def run(action, params=None, key: Key = account):
        env = {**os.environ, "SHIPSHAPE_SECRET_ID": key.secret_id, "SHIPSHAPE_SECRET_KEY": key.secret_key}
        out = subprocess.run(["node", str(node_dir / "call.js"), "--endpoint", server.endpoint, "--action", action,
                              "--params", json.dumps(params or {})], capture_output=True, text=True, env=env,
                             timeout=120, cwd=node_dir)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    return run
