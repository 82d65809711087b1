"""A fleet in a registry: N images sharing the layers of one base image, one small unique layer each
(bench/fleet_push.py), in a private docker-registry thrown away afterwards; scanned by 1 and then 2
`shipshape worker` processes on PostgreSQL behind one API replica (`serve --workers 0`): images per
minute from CreateAssetImageScanTask (All) to the task's END, and the projection for 100,000
images with 8 workers.
   usage: .venv/bin/python bench/fleet.py [N=1000] [WORKER_COUNTS=1,2]
   env: SHIPSHAPE_BIN (default target/release/shipshape), SHIPSHAPE_TEST_PG (required),
        FLEET_SCAN=risk,virus (which scanners; vul needs advisory data loaded)
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

HERE = Path(__file__).resolve().parent
N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
COUNTS = [int(x) for x in (sys.argv[2] if len(sys.argv) > 2 else "1,2").split(",")]
BIN = os.environ.get("SHIPSHAPE_BIN", str(HERE.parent / "target/release/shipshape"))
PG = os.environ["SHIPSHAPE_TEST_PG"]
SCAN = os.environ.get("FLEET_SCAN", "risk,virus").split(",")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def wait_http(url, proc=None, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def caller(endpoint, cred):
    prof = ClientProfile(httpProfile=HttpProfile(endpoint=endpoint, protocol="http", reqTimeout=120))
    client = CommonClient("tcss", "2020-11-01", credential.Credential(cred["SecretId"], cred["SecretKey"]), "", profile=prof)
    return lambda action, params=None: client.call_json(action, params or {})["Response"]


def database(name):
    subprocess.run(["psql", PG, "-qc", f"DROP DATABASE IF EXISTS {name}"], check=True)
    subprocess.run(["psql", PG, "-qc", f"CREATE DATABASE {name}"], check=True)
    head, _, q = PG.partition("?")
    scheme, _, rest = head.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/{name}" + (f"?{q}" if q else "")


def run(work, reg, workers):
    db = database(f"shipshape_fleet_{os.getpid()}_{workers}")
    procs = []
    try:
        api_dir = work / f"api{workers}"
        port = free_port()
        env = {**os.environ, "RUST_LOG": "warn"}
        api_log = open(work / f"api{workers}.log", "wb")
        procs.append(subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{port}", "--workers", "0", "--rate-limit", "0",
                                       "--data-dir", str(api_dir), "--database", db], stdout=api_log, stderr=api_log, env=env))
        wait_http(f"http://127.0.0.1:{port}/healthz", procs[0])
        call = caller(f"127.0.0.1:{port}", json.loads((api_dir / "credentials.json").read_text()))
        for w in range(workers):
            d = work / f"w{workers}-{w}"
            d.mkdir(mode=0o700)
            shutil.copy(api_dir / "master.key", d / "master.key")
            (d / "registries.toml").write_text(f'[[registry]]\nhost = "{reg}"\ninsecure = true\n')
            log = open(d / "worker.log", "wb")
            procs.append(subprocess.Popen([BIN, "worker", "--workers", "1", "--data-dir", str(d), "--database", db,
                                           "--db-update-every", "0", "--inventory-every", "5",
                                           "--docker-host", "unix:///nonexistent.sock"], stdout=log, stderr=log, env=env))
        t = time.time()
        while True:
            total = call("DescribeAssetImageList", {"Limit": 1})["TotalCount"]
            if total >= N:
                break
            if time.time() - t > 900:
                raise RuntimeError(f"inventory has {total} of {N} images")
            time.sleep(1)
        listed = time.time() - t
        t0 = time.time()
        task = call("CreateAssetImageScanTask", {"All": True, "ScanVul": "vul" in SCAN, "ScanVirus": "virus" in SCAN,
                                                 "ScanRisk": "risk" in SCAN})["TaskID"]
        while True:
            s = call("DescribeAssetImageScanStatus", {"TaskID": task})
            if s["Status"] == "END":
                break
            time.sleep(1)
        secs = time.time() - t0
        return {"workers": workers, "images": s["ImageTotal"], "ok": s["SuccessCount"], "seconds": round(secs, 1),
                "images_per_min": round(s["ImageTotal"] / secs * 60, 1), "inventory_secs": round(listed, 1)}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        subprocess.run(["psql", PG, "-qc", f"DROP DATABASE IF EXISTS {db.rsplit('/', 1)[1].split('?')[0]} WITH (FORCE)"])


def main():
    work = Path(tempfile.mkdtemp(prefix="fleet-"))
    rport = free_port()
    reg = f"127.0.0.1:{rport}"
    (work / "registry.yml").write_text(
        f"version: 0.1\nlog: {{level: error}}\nstorage: {{filesystem: {{rootdirectory: {work}/registry-data}}}}\n"
        f"http: {{addr: {reg}}}\n")
    registry = subprocess.Popen(["docker-registry", "serve", str(work / "registry.yml")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://{reg}/v2/", registry)
        t = time.time()
        subprocess.run(["skopeo", "copy", "-q", "--dest-tls-verify=false", "docker-daemon:shipshape-test/bookworm-app:1",
                        f"docker://{reg}/fleet/base:1"], check=True)
        # N-1 derived images + the base = N images in the registry.
        subprocess.run([sys.executable, str(HERE / "fleet_push.py"), reg, "fleet/base:1", str(N - 1), "fleet/app"], check=True)
        print(f"registry: {N} images pushed in {time.time() - t:.0f}s ({reg})", flush=True)
        results = [run(work, reg, w) for w in COUNTS]
        for r in results:
            print(json.dumps(r), flush=True)
        best = max(results, key=lambda r: r["workers"])
        per_worker = best["images_per_min"] / best["workers"]
        minutes = 100_000 / (per_worker * 8)
        print(f"projection: 100,000 images / ({best['images_per_min']} images/min / {best['workers']} workers x 8 workers)"
              f" = 100000 / {per_worker * 8:.0f} per min = {minutes:.0f} min ({minutes / 60:.1f} h), "
              "assuming linear scaling with one core per worker and the base layers cached")
    finally:
        registry.terminate()
        registry.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
