"""Faults Shipshape must survive (issue 16, "Faults"): each one is made to happen for real.

- `kill -9` during `db import` (all of ../shared/vulndata) and during `db update` (a local mirror in OSV's
  bucket layout, throttled): killed mid-download and mid-write, the store keeps the previous data exactly.
- PostgreSQL restarted mid-scan (a PostgreSQL of the test's own, never the shared one): the task ends `Success`
  with the results of an uninterrupted scan.
- The data directory's file system full (a size-limited tmpfs): writes fail with clear errors (over the API
  `ResourceInsufficient`), the database stays
  whole, the same calls succeed once space is freed, without a restart.
- SIGTERM: in-flight requests are answered, the process exits 0, a claimed image scan is handed back.
- dockerd restarted mid-scan (a Docker Engine of the test's own, on its own socket and data root): that image ends
  `SCAN_ERR`, the others wait for the engine and complete.

How a kill is made to land inside a write transaction (SQLite): the process is stopped (SIGSTOP), and killed only
when it holds the write lock, its WAL has grown past the data it started with and nothing of the run is committed
yet; otherwise it is let go on (SIGCONT) and looked at again a moment later.
"""
import hashlib
import http.client
import io
import json
import os
import pwd
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tarfile
import tempfile
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

import tc3sign
from conftest import REPO, Server, create_pg_database, free_port, make_call, services_required, shipshape_bin, start_worker
from test_image_scan import IMAGE, cli_scan, docker_image_id, poll_until_end, wait_image

SHARED = Path(os.environ.get("SHIPSHAPE_SHARED") or REPO.parent / "shared")
VULNDATA = SHARED / "vulndata"
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def need(tool, why):
    """The path of `tool`; skips (fails with SHIPSHAPE_TEST_SERVICES=1) when it is missing."""
    path = shutil.which(tool)
    if path is None:
        if services_required():
            pytest.fail(f"SHIPSHAPE_TEST_SERVICES=1 but {tool} is missing ({why})")
        pytest.skip(f"{tool} missing: {why}")
    return path


def cli_env():
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
    env.pop("SHIPSHAPE_DATABASE_URL", None)
    env.pop("SHIPSHAPE_DATA_DIR", None)
    env["SHIPSHAPE_FEED_RETRY_DELAY_MS"] = "10"
    return env


def shipshape(data_dir, *args, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([shipshape_bin(), "--data-dir", str(data_dir), *args], capture_output=True, text=True,
                          env=cli_env(), timeout=timeout)


def shipshape_bg(data_dir, *args, log=None) -> subprocess.Popen:
    out = open(log, "ab") if log else subprocess.DEVNULL
    return subprocess.Popen([shipshape_bin(), "--data-dir", str(data_dir), *args], stdout=out, stderr=out,
                            env=cli_env())


def db_status(data_dir) -> dict:
    out = shipshape(data_dir, "db", "status", "--format", "json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def integrity(db: Path) -> str:
    out = subprocess.run([need("sqlite3", "the SQLite integrity check"), str(db), "PRAGMA integrity_check"],
                         capture_output=True, text=True, timeout=120)
    return (out.stdout + out.stderr).strip()


def committed_sources(db: Path) -> list:
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return c.execute("SELECT name, fingerprint FROM advisory_sources ORDER BY name").fetchall()
    finally:
        c.close()


def writer_active(db: Path) -> bool:
    """Whether another connection holds SQLite's write lock (an open write transaction)."""
    c = sqlite3.connect(str(db), timeout=0, isolation_level=None)
    try:
        c.execute("BEGIN IMMEDIATE")
        c.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as e:
        if "locked" in str(e) or "busy" in str(e):
            return True
        raise
    finally:
        c.close()


def kill_mid_write(proc: subprocess.Popen, db: Path, committed_before: list, wal_growth=2 << 20, timeout=600) -> int:
    """SIGKILLs `proc` while it is inside a write transaction that has written at least `wal_growth` bytes to the
    WAL and before any of its work is committed (`committed_before`: advisory_sources as it was). Returns how far the
    WAL had grown."""
    wal = Path(f"{db}-wal")
    base = wal.stat().st_size if wal.exists() else 0
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the run ended (exit {proc.returncode}) before it was caught inside its write")
        os.kill(proc.pid, signal.SIGSTOP)
        try:
            size = wal.stat().st_size if wal.exists() else 0
            if size >= base + wal_growth and writer_active(db):
                assert committed_sources(db) == committed_before, \
                    "part of the run was committed before the kill could land: the transaction window was missed"
                proc.kill()
                proc.wait()
                return size - base
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGCONT)
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    raise AssertionError("no write transaction seen in time")


# ---------------------------------------------------------------------------------------------------------------
# kill -9 during `db import`


def test_kill9_during_db_import_keeps_previous_data(tmp_path):
    """The previous data: all of vulndata, with osv/Go cut to a tenth. The killed run: `db import` of all of
    ../shared/vulndata, whose only changed source is osv/Go (one transaction adding ~3,900 advisories)."""
    go_files = sorted((VULNDATA / "osv" / "Go").glob("*.json"))
    assert len(go_files) > 1000
    old = tmp_path / "old" / "vulndata"
    shutil.copytree(VULNDATA, old)
    for i, f in enumerate(go_files):
        if i % 10:
            (old / "osv" / "Go" / f.name).unlink()
    data = tmp_path / "data"
    out = shipshape(data, "db", "import", str(old))
    assert out.returncode == 0, out.stderr
    before = db_status(data)
    db = data / "shipshape.db"
    committed = committed_sources(db)

    proc = shipshape_bg(data, "db", "import", str(VULNDATA), log=tmp_path / "killed.log")
    grew = kill_mid_write(proc, db, committed)
    print(f"killed inside the import's transaction, its WAL {grew >> 20} MB in")
    after = db_status(data)
    assert after == before, "a killed import changed the stored data"
    assert integrity(db) == "ok"

    out = shipshape(data, "db", "import", str(VULNDATA), "--format", "json")
    assert out.returncode == 0, out.stderr
    sources = {s["name"]: s for i in json.loads(out.stdout)["imports"] for s in i["sources"]}
    go = sources["vulndata/osv/Go"]
    assert go["outcome"] == "imported" and go["added"] == len(go_files) - (len(go_files) + 9) // 10, go
    assert all(s["outcome"] in ("unchanged", "empty") for n, s in sources.items() if n != "vulndata/osv/Go"), sources
    final = db_status(data)
    counts = {s["name"]: s["advisories"] for s in final["sources"]}
    assert counts["vulndata/osv/Go"] == len(go_files)
    assert {n: c for n, c in counts.items() if n != "vulndata/osv/Go"} == \
        {s["name"]: s["advisories"] for s in before["sources"] if s["name"] != "vulndata/osv/Go"}
    assert final["total"] == before["total"] + go["added"]
    assert final["data_version"] != before["data_version"]


# ---------------------------------------------------------------------------------------------------------------
# kill -9 during `db update`


class Mirror:
    """OSV's bucket layout over HTTP (ecosystems.txt, <Ecosystem>/all.zip), with ETag/Last-Modified and conditional
    GETs, optionally throttled; counts the body bytes sent per path."""

    def __init__(self):
        self.docs, self.sent, self.rate, self.version = {}, {}, None, 0
        self.lock = threading.Lock()
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                with mirror.lock:
                    doc = mirror.docs.get(self.path)
                if doc is None:
                    self.send_error(404)
                    return
                body, etag, modified = doc
                if self.headers.get("If-None-Match") == etag or (
                        self.headers.get("If-None-Match") is None and self.headers.get("If-Modified-Since") == modified):
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", modified)
                self.end_headers()
                try:
                    for i in range(0, len(body), 16384):
                        chunk = body[i:i + 16384]
                        self.wfile.write(chunk)
                        with mirror.lock:
                            mirror.sent[self.path] = mirror.sent.get(self.path, 0) + len(chunk)
                        if mirror.rate:
                            time.sleep(len(chunk) / mirror.rate)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/osv"

    def put(self, path, body: bytes):
        with self.lock:
            self.version += 1
            n = self.version
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            self.docs[path] = (body, etag, f"Mon, 01 Jan 2024 00:{n // 60:02}:{n % 60:02} GMT")
            self.sent.pop(path, None)

    def reset_counts(self):
        with self.lock:
            self.sent.clear()

    def bytes_sent(self, path):
        with self.lock:
            return self.sent.get(path, 0)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def osv_zip(ecosystem, keep=lambda i: True) -> tuple[bytes, int]:
    files = sorted((VULNDATA / "osv" / ecosystem).glob("*.json"))
    buf = io.BytesIO()
    n = 0
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for i, f in enumerate(files):
            if keep(i):
                z.writestr(f.name, f.read_bytes())
                n += 1
    return buf.getvalue(), n


def test_kill9_during_db_update_keeps_previous_data(tmp_path):
    ecos = ["PyPI", "crates.io"]
    mirror = Mirror()
    try:
        mirror.put("/osv/ecosystems.txt", ("\n".join(ecos) + "\n").encode())
        for e in ecos:
            mirror.put(f"/osv/{e}/all.zip", osv_zip(e, keep=lambda i: i % 2 == 0)[0])
        data = tmp_path / "data"
        args = ("db", "update", "--format", "json", "--osv-url", mirror.url, "--alpine-secdb-url", "off")
        out = shipshape(data, *args)
        assert out.returncode == 0, out.stdout + out.stderr
        before = db_status(data)
        assert {f["name"] for f in before["feeds"]} == {f"osv/{e}" for e in ecos}
        db = data / "shipshape.db"
        committed = committed_sources(db)

        # The feeds change upstream.
        full = {}
        for e in ecos:
            body, n = osv_zip(e)
            mirror.put(f"/osv/{e}/all.zip", body)
            full[e] = (len(body), n)

        # 1. Killed mid-download (throttled: a quarter of the first all.zip sent, the rest still to come).
        first = f"/osv/{ecos[0]}/all.zip"
        mirror.rate = max(full[ecos[0]][0] // 8, 64 << 10)
        proc = shipshape_bg(data, *args, log=tmp_path / "killed-download.log")
        deadline = time.time() + 120
        while mirror.bytes_sent(first) < full[ecos[0]][0] // 4 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.02)
        proc.kill()
        proc.wait()
        assert 0 < mirror.bytes_sent(first) < full[ecos[0]][0], "the kill did not land mid-download"
        assert db_status(data) == before, "a download killed halfway changed the stored data"

        # 2. Killed mid-import: the download complete, the feed's transaction open and written to.
        mirror.rate = None
        mirror.reset_counts()
        proc = shipshape_bg(data, *args, log=tmp_path / "killed-import.log")
        grew = kill_mid_write(proc, db, committed, wal_growth=1 << 20)
        print(f"killed inside the feed's import transaction, its WAL {grew >> 20} MB in")
        # The whole file was sent (a throttled sender thread of the killed run may still add its last
        # chunk to the count after the reset, hence at least).
        assert mirror.bytes_sent(first) >= full[ecos[0]][0]
        assert db_status(data) == before, "an import killed halfway changed the stored data"
        assert integrity(db) == "ok"

        # 3. A rerun completes and brings every feed up to date.
        out = shipshape(data, *args)
        assert out.returncode == 0, out.stdout + out.stderr
        outcomes = {f["name"]: f["outcome"] for f in json.loads(out.stdout)["feeds"]}
        assert outcomes == {f"osv/{e}": "imported" for e in ecos}, outcomes
        final = db_status(data)
        records = {f["name"]: f["records"] for f in final["feeds"]}
        assert records == {f"osv/{e}": full[e][1] for e in ecos}
        assert all(f["error"] is None for f in final["feeds"]), final["feeds"]
        assert final["data_version"] != before["data_version"]
        # The killed runs' partial downloads are gone: swept at this run's start (their lock died with them).
        assert not list(data.glob(".feed-download-*")), list(data.glob(".feed-download-*"))
    finally:
        mirror.close()


# ---------------------------------------------------------------------------------------------------------------
# Image scans: the uninterrupted result


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """Counts of an uninterrupted virus+risk scan of IMAGE (the CLI's scanners, as test_image_scan compares)."""
    image_id = docker_image_id()
    d = tmp_path_factory.mktemp("baseline")
    cli = cli_scan(d / "data", image_id, tmp=d / "cache")
    assert cli["malware"] and cli["risks"]
    return {"virus": len(cli["malware"]), "risk": len(cli["risks"])}


def result_counts(call, image_id):
    return {"virus": call("DescribeAssetImageVirusList", {"ImageID": image_id, "Limit": 100})["TotalCount"],
            "risk": call("DescribeAssetImageRiskList", {"ImageID": image_id, "Limit": 100})["TotalCount"]}


def latest_task(call, task):
    t = call("DescribeAssetImageScanTask", {})
    assert t["TaskID"] == task, t
    return t


def wait_scanning(call, task, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        s = call("DescribeAssetImageScanStatus", {"TaskID": task})
        if s["Status"] != "READY":
            return s
        time.sleep(0.05)
    raise AssertionError(f"task {task} never started")


# ---------------------------------------------------------------------------------------------------------------
# PostgreSQL restarted mid-scan


class OwnPostgres:
    """A PostgreSQL of this test only (initdb into a temp dir, trust auth, loopback, its own port)."""

    def __init__(self, root: Path):
        bindir = None
        for cand in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name):
            if (cand / "initdb").exists():
                bindir = cand
        initdb = str(bindir / "initdb") if bindir else shutil.which("initdb")
        try:
            pwd.getpwnam("postgres")
            has_user = True
        except KeyError:
            has_user = False
        if initdb is None or shutil.which("runuser") is None or not has_user:
            if services_required():
                pytest.fail("SHIPSHAPE_TEST_SERVICES=1 but initdb/pg_ctl, runuser or the postgres user is missing")
            pytest.skip("no PostgreSQL server binaries")
        self.bin = Path(initdb).parent
        self.dir = root
        shutil.chown(self.dir, "postgres", "postgres")
        os.chmod(self.dir, 0o700)
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
        self.pg("initdb", "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres", "--no-sync")

    def pg(self, tool, *args, timeout=120):
        out = subprocess.run(["runuser", "-u", "postgres", "--", str(self.bin / tool), *args], capture_output=True,
                             text=True, timeout=timeout, cwd="/")
        assert out.returncode == 0, f"{tool} {args}: {out.stdout}{out.stderr}"
        return out

    def ctl(self, *args):
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        return self.pg("pg_ctl", "-D", str(self.dir / "data"), "-o", opts, "-l", str(self.dir / "log"), "-w", *args)

    def stop(self):
        subprocess.run(["runuser", "-u", "postgres", "--", str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"),
                        "-m", "immediate", "-w", "stop"], capture_output=True, timeout=60, cwd="/")


def call_through(call, action, params=None, timeout=60):
    """`call` that rides out a store outage: retried until it answers without an error."""
    deadline, last = time.time() + timeout, None
    while time.time() < deadline:
        try:
            return call(action, params or {})
        except TencentCloudSDKException as e:
            last = e
            time.sleep(0.5)
    raise AssertionError(f"{action} kept failing: {last}")


def test_postgres_restart_mid_scan(tmp_path, uninterrupted):
    image_id = docker_image_id()
    root = Path(tempfile.mkdtemp(prefix="ss-pg-"))
    pg, srv = None, None
    try:
        pg = OwnPostgres(root)
        pg.ctl("start")
        srv = Server("postgres", tmp_path / "srv", database=pg.url).start()
        call = make_call(srv.endpoint, srv.first_key())
        wait_image(call, image_id)
        task = call("CreateAssetImageScanTask", {"Images": [IMAGE], "ScanVirus": True, "ScanRisk": True})["TaskID"]
        wait_scanning(call, task)
        time.sleep(1.0)
        state = pg.pg("psql", "-h", str(pg.dir), "-p", str(pg.port), "-U", "postgres", "-Atc",
                      "SELECT state FROM image_scan_queue").stdout.split()
        assert state == ["running"], f"the scan is not running when PostgreSQL restarts: {state}"
        # The restart, with the database down for a few heartbeats: meanwhile a request gets an error code.
        pg.ctl("-m", "fast", "stop")
        t0 = time.time()
        with pytest.raises(TencentCloudSDKException) as e:
            call("DescribeAssetImageScanStatus", {"TaskID": task})
        down = (e.value.get_code(), e.value.get_message(), round(time.time() - t0, 1))
        time.sleep(max(0.0, 2.0 - (time.time() - t0)))
        pg.ctl("start")
        print("while PostgreSQL was down:", down)
        assert re.fullmatch(r"[A-Z][A-Za-z]+(\.[A-Za-z]+)*", down[0] or "") and down[0] != "ClientNetworkError", down

        s = call_through(call, "DescribeAssetImageScanStatus", {"TaskID": task})
        last, _ = poll_until_end(call, task, timeout=900) if s["Status"] != "END" else (s, None)
        t = latest_task(call, task)
        assert (t["Status"], t["SubStatus"]) == ("END", "Success"), (t, srv.log()[-3000:])
        assert last["SuccessCount"] == last["ImageTotal"] == 1
        assert result_counts(call, image_id) == uninterrupted
        # The server still answers, reads and writes (its pool reconnected).
        assert srv.proc.poll() is None
        time.sleep(1)
        call("CreateAssetImageScanSetting", {"Enable": False, "ScanTime": "04:05", "ScanPeriod": 1, "ScanVirus": False,
                                             "ScanRisk": True, "ScanVul": False})
        assert call("DescribeAssetImageScanSetting", {})["ScanTime"] == "04:05"
    finally:
        if srv is not None:
            srv.stop()
        if pg is not None:
            pg.stop()
        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------------------
# One of two workers killed mid-image


def test_worker_killed_mid_image_the_other_finishes_it_once(tmp_path, uninterrupted):
    """Two workers and an API replica on PostgreSQL: `kill -9` of the worker scanning the image; the other
    claims it once the claim is stale (no heartbeat) and finishes it; every finding is stored exactly once
    (the counts of an uninterrupted scan), the task ends Success."""
    image_id = docker_image_id()
    database = create_pg_database()
    if database is None:
        pytest.skip("SHIPSHAPE_TEST_PG unset")
    api = Server("postgres", tmp_path / "api", database=database, extra=["--workers", "0"]).start()
    workers = {}
    try:
        for name in ("w1", "w2"):
            workers[name] = start_worker(api, tmp_path / name, database)
        call = make_call(api.endpoint, api.first_key())
        wait_image(call, image_id, timeout=120)
        task = call("CreateAssetImageScanTask", {"Images": [image_id], "ScanVirus": True, "ScanRisk": True})["TaskID"]

        def log(name):
            return (tmp_path / name / "worker.log").read_text(errors="replace")

        deadline, victim = time.time() + 120, None
        while victim is None and time.time() < deadline:
            victim = next((n for n in workers if "scanning image" in log(n)), None)
            time.sleep(0.05)
        assert victim, "no worker started the scan"
        workers[victim].send_signal(signal.SIGKILL)
        workers[victim].wait()
        status = call("DescribeAssetImageScanStatus", {"TaskID": task})
        assert status["Status"] != "END", f"the scan ended before the kill, nothing was tested: {status}"
        survivor = next(n for n in workers if n != victim)

        last, _ = poll_until_end(call, task, timeout=900)
        t = latest_task(call, task)
        assert (t["Status"], t["SubStatus"]) == ("END", "Success"), (t, log(survivor)[-3000:])
        assert last["SuccessCount"] == last["ImageTotal"] == 1
        assert "scanning image" in log(survivor), "the survivor did not take the image over"
        assert result_counts(call, image_id) == uninterrupted
    finally:
        for p in workers.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        api.stop()


# ---------------------------------------------------------------------------------------------------------------
# The data directory's file system full


@pytest.fixture
def small_fs(tmp_path):
    if os.geteuid() != 0 or shutil.which("mount") is None:
        if services_required():
            pytest.fail("SHIPSHAPE_TEST_SERVICES=1 but a tmpfs cannot be mounted (root and mount needed)")
        pytest.skip("needs root to mount a tmpfs")
    mnt = tmp_path / "small"
    mnt.mkdir()
    out = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m,mode=0700", "tmpfs", str(mnt)], capture_output=True,
                         text=True)
    if out.returncode != 0:
        if services_required():
            pytest.fail(f"mounting a tmpfs failed: {out.stderr}")
        pytest.skip(f"cannot mount a tmpfs: {out.stderr}")
    yield mnt
    if subprocess.run(["umount", str(mnt)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill(fs: Path) -> Path:
    """Writes a file until the file system has no byte left."""
    filler = fs / "filler"
    block = b"\0" * (1 << 20)
    with open(filler, "wb", buffering=0) as f:
        for size in (1 << 20, 4096, 512, 1):
            try:
                while True:
                    f.write(block[:size])
            except OSError as e:
                assert e.errno == 28, e  # ENOSPC
    return filler


def truncate_wal(db: Path):
    deadline = time.time() + 30
    while time.time() < deadline:
        c = sqlite3.connect(str(db), timeout=5)
        try:
            busy, log, _ = c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            c.close()
        if busy == 0 and log == 0:
            return
        time.sleep(0.1)
    raise AssertionError("the WAL could not be checkpointed")


def test_disk_full_clear_errors_no_corruption_then_resumes(tmp_path, small_fs):
    data = small_fs / "data"
    srv = Server("sqlite", data)
    srv.log_path = tmp_path / "serve.log"  # the log must not sit on the full file system
    srv.start()
    try:
        key = srv.first_key()
        call = make_call(srv.endpoint, key)
        setting = {"Enable": True, "ScanTime": "02:03", "ScanPeriod": 2, "ScanVirus": False, "ScanRisk": True,
                   "ScanVul": False}
        before = call("DescribeAssetImageScanSetting", {})
        before.pop("RequestId")
        pid = srv.proc.pid
        # An empty WAL: every write from now on must grow it (a WAL restarted after a checkpoint would take a small
        # write in the space it already holds, full disk or not).
        truncate_wal(data / "shipshape.db")
        filler = fill(small_fs)

        # Writes fail with an error code, the CLI with a message naming the problem.
        with pytest.raises(TencentCloudSDKException) as e:
            call("CreateAssetImageScanSetting", setting)
        # The documented code for it (service::error::STORAGE_FULL), not InternalError.
        assert e.value.get_code() == "ResourceInsufficient", e.value
        assert re.search(r"storage is full", e.value.get_message()), e.value
        api_error = (e.value.get_code(), e.value.get_message())
        keys = srv.cli("keys", "create", check=False)
        assert keys.returncode != 0 and re.search(r"full|no space", keys.stderr, re.I), keys.stderr
        imp = shipshape(data, "db", "import", str(VULNDATA / "osv" / "npm"))
        assert imp.returncode != 0 and re.search(r"full|no space", imp.stderr, re.I), imp.stderr
        # Reads still work, nothing changed, the server is up, the database whole.
        now = call("DescribeAssetImageScanSetting", {})
        now.pop("RequestId")
        assert now == before
        assert srv.proc.poll() is None
        assert integrity(data / "shipshape.db") == "ok"

        # Space freed: the same calls succeed, same process.
        filler.unlink()
        time.sleep(1)  # a new signature second for the SDK
        call("CreateAssetImageScanSetting", setting)
        got = call("DescribeAssetImageScanSetting", {})
        assert (got["Enable"], got["ScanTime"], got["ScanPeriod"]) == (True, "02:03", 2), got
        k = srv.new_key()
        assert make_call(srv.endpoint, k)("DescribeAssetImageScanSetting", {})
        imp = shipshape(data, "db", "import", str(VULNDATA / "osv" / "npm"))
        assert imp.returncode == 0, imp.stderr
        assert db_status(data)["sources"][0]["advisories"] > 0
        assert srv.proc.pid == pid and srv.proc.poll() is None
        assert integrity(data / "shipshape.db") == "ok"
        print("disk full over the API:", api_error)
    finally:
        srv.stop()


# ---------------------------------------------------------------------------------------------------------------
# SIGTERM


def raw_partial_request(srv, key, action, params):
    """Opens a connection and sends a signed request's headers and half its body; returns (socket, rest of body)."""
    body = json.dumps(params).encode()
    headers = tc3sign.sign_headers(key.secret_id, key.secret_key, srv.endpoint, action, body)
    head = "POST / HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    half = len(body) // 2
    s.sendall(head.encode() + body[:half])
    return s, body[half:]


def read_response(s):
    r = http.client.HTTPResponse(s)
    r.begin()
    return r.status, json.loads(r.read())


def test_sigterm_drains_in_flight_requests(tmp_path):
    srv = Server("sqlite", tmp_path / "drain").start()
    try:
        key = srv.first_key()
        write = {"Enable": True, "ScanTime": "05:06", "ScanPeriod": 3, "ScanVirus": False, "ScanRisk": True,
                 "ScanVul": False}
        pending = [raw_partial_request(srv, key, "CreateAssetImageScanSetting", write),
                   raw_partial_request(srv, key, "DescribeAssetImageList", {"Limit": 100}),
                   raw_partial_request(srv, key, "DescribeAssetImageScanSetting", {})]
        time.sleep(0.5)  # the server has read each request's head: the requests are in flight
        srv.proc.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        assert srv.proc.poll() is None, "exited with requests in flight"
        answers = []
        for s, rest in pending:
            s.sendall(rest)
            answers.append(read_response(s))
            s.close()
        for status, body in answers:
            assert status == 200 and "Error" not in body["Response"], body
        assert "TotalCount" in answers[1][1]["Response"]
        assert srv.proc.wait(timeout=60) == 0, srv.log()[-3000:]
        srv.proc = None
        # The write answered during the drain is stored.
        srv.start()
        got = make_call(srv.endpoint, key)("DescribeAssetImageScanSetting", {})
        assert (got["Enable"], got["ScanTime"], got["ScanPeriod"]) == (True, "05:06", 3), got
    finally:
        srv.stop()


def test_sigterm_hands_claimed_scan_back(tmp_path, uninterrupted):
    """Three graceful restarts, each while the image is being scanned: every claim is handed back (a graceful
    stop is not a failed attempt: three of those would give the image up), then the scan completes once."""
    image_id = docker_image_id()
    srv = Server("sqlite", tmp_path / "handback").start()
    try:
        call = make_call(srv.endpoint, srv.first_key())
        wait_image(call, image_id)
        task = call("CreateAssetImageScanTask", {"Images": [IMAGE], "ScanVirus": True, "ScanRisk": True})["TaskID"]
        for n in range(1, 4):
            deadline = time.time() + 120
            while srv.log().count("scanning image") < n and time.time() < deadline:
                time.sleep(0.1)
            assert srv.log().count("scanning image") >= n, f"restart {n}: the scan was not resumed"
            time.sleep(1.0)
            assert "image scan task finished" not in srv.log(), "the scan ended before SIGTERM"
            srv.restart()  # asserts exit status 0
            call = make_call(srv.endpoint, srv.first_key())
        last, _ = poll_until_end(call, task, timeout=900)
        t = latest_task(call, task)
        assert (t["SubStatus"], last["SuccessCount"], last["ImageTotal"]) == ("Success", 1, 1), (t, last)
        # Each stop handed the image back (logged), and no stop counted as an attempt.
        assert srv.log().count("image scan handed back to the queue") == 3
        assert re.findall(r"scanning image .*attempt=(\d+)", srv.log()) == ["1"] * 4
        assert result_counts(call, image_id) == uninterrupted
    finally:
        srv.stop()


# ---------------------------------------------------------------------------------------------------------------
# dockerd restarted mid-scan


class OwnDockerd:
    """A Docker Engine of this test only: its own socket, data root, exec root (and so containerd) and pid file;
    vfs, no bridge, no iptables. The shared daemon is never touched."""

    def __init__(self, root: Path):
        self.root = root
        self.sock = root / "docker.sock"
        self.host = f"unix://{self.sock}"
        (root / "daemon.json").write_text("{}")
        self.proc = None
        self.log = root / "dockerd.log"

    def start(self):
        (self.root / "docker.pid").unlink(missing_ok=True)
        cmd = ["dockerd", "--data-root", str(self.root / "data"), "--exec-root", str(self.root / "exec"),
               "--pidfile", str(self.root / "docker.pid"), "-H", self.host, "--config-file",
               str(self.root / "daemon.json"), "--storage-driver=vfs", "--iptables=false", "--ip-masq=false",
               "--ip-forward=false", "--bridge=none"]
        self.proc = subprocess.Popen(cmd, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"dockerd exited: {self.log.read_text()[-2000:]}")
            if self.docker("version", check=False).returncode == 0:
                return self
            time.sleep(0.25)
        raise AssertionError(f"dockerd did not come up: {self.log.read_text()[-2000:]}")

    def docker(self, *args, check=True, input=None):
        out = subprocess.run(["docker", "-H", self.host, *args], capture_output=True, input=input, timeout=120)
        assert not check or out.returncode == 0, out.stderr
        return out

    def kill(self):
        """kill -9, and its containerd gone with it (else the next start waits on the dead one's pid file)."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        pid_file = self.root / "exec" / "containerd" / "containerd.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text().strip() or 0)
            if pid > 0 and alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            deadline = time.time() + 30
            while pid > 0 and alive(pid) and time.time() < deadline:
                time.sleep(0.1)
            pid_file.unlink(missing_ok=True)

    def close(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        # dockerd bind-mounts its data root onto itself (and left so when killed).
        for _ in range(3):
            mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
            mine = [m for m in mounts if m.startswith(str(self.root))]
            if not mine:
                break
            for m in sorted(mine, reverse=True):
                subprocess.run(["umount", "-l", m], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


def alive(pid) -> bool:
    """Running (a zombie counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def tiny_image(dk, name, marker):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for path, text in (("etc/os-release", 'ID=debian\nVERSION_ID="12"\n'), ("app/marker.txt", marker * 1000)):
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return dk.docker("import", "-", name, input=buf.getvalue()).stdout.decode().strip()


def test_dockerd_restart_mid_scan(tmp_path):
    """The image being read when dockerd dies ends SCAN_ERR (cut off mid-read); the images queued behind it find no
    engine to connect to (image::Error::EngineUnreachable), go back to the queue uncounted and complete once it is
    back (scan::worker, ENGINE_RETRY / ENGINE_GRACE)."""
    need("dockerd", "a Docker Engine of the test's own")
    need("docker", "the Docker CLI")
    dk = OwnDockerd(Path(tempfile.mkdtemp(prefix="ss-dk-")))
    srv = None
    try:
        dk.start()
        ids = [tiny_image(dk, f"shipshape-fault/img{i}:1", f"image {i} ") for i in range(3)]
        srv = Server("sqlite", tmp_path / "srv", extra=["--docker-host", dk.host, "--inventory-every", "1"]).start()
        call = make_call(srv.endpoint, srv.first_key())
        for i in ids:
            wait_image(call, i)
        # The daemon is frozen, the task created: the first image's scan starts and waits on the daemon, which then
        # dies (kill -9) and comes back.
        os.kill(dk.proc.pid, signal.SIGSTOP)
        task = call("CreateAssetImageScanTask", {"Images": ids, "ScanRisk": True})["TaskID"]
        deadline = time.time() + 60
        first = None
        while first is None and time.time() < deadline:
            m = re.search(r"scanning image.*?image=(sha256:[0-9a-f]{64})", srv.log())
            first = m and m.group(1)
            time.sleep(0.05)
        assert first in ids, "no scan started"
        time.sleep(0.5)
        dk.kill()
        dk.start()
        last, _ = poll_until_end(call, task, timeout=300)
        status = {i: call("DescribeAssetImageList", {"Filters": [{"Name": "ImageID", "Values": [i], "ExactMatch": True}]})
                  ["List"][0]["ScanStatus"] for i in ids}
        assert status == {i: ("SCAN_ERR" if i == first else "SCANNED") for i in ids}, \
            (status, re.findall(r".*(?:WARN|ERROR).*", srv.log())[-8:])
        assert last["SuccessCount"] == 2 and last["ImageTotal"] == 3
        assert latest_task(call, task)["SubStatus"] == "Success"
        assert srv.proc.poll() is None
    finally:
        if srv is not None:
            srv.stop()
        dk.close()
