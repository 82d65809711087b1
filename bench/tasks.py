"""Client half of bench/tasks.sh: cold and warm image scan tasks, status latency while scanning."""
import argparse
import json
import statistics
import threading
import time

from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

ap = argparse.ArgumentParser()
ap.add_argument("--endpoint", required=True)
ap.add_argument("--credentials", required=True)
ap.add_argument("--images", type=int, default=50)
a = ap.parse_args()
c = json.load(open(a.credentials))
client = CommonClient("tcss", "2020-11-01", credential.Credential(c["SecretId"], c["SecretKey"]), "ap-guangzhou",
                      profile=ClientProfile(httpProfile=HttpProfile(endpoint=a.endpoint, protocol="http", reqTimeout=60)))


def call(action, params=None):
    return client.call_json(action, params or {})["Response"]


deadline = time.time() + 120
while time.time() < deadline:
    n = call("DescribeAssetImageList", {"Limit": 1})["TotalCount"]
    if n >= a.images:
        break
    time.sleep(1)
print(f"inventory: {n} images")


def run(label, measure_latency):
    t0 = time.time()
    task = call("CreateAssetImageScanTask", {"All": True, "ScanVirus": True, "ScanRisk": True})["TaskID"]
    lat, done = [], threading.Event()

    def poll():
        while not done.is_set():
            s = time.perf_counter()
            call("DescribeAssetImageScanStatus", {"TaskID": task})
            lat.append((time.perf_counter() - s) * 1000)
            time.sleep(0.05)

    th = threading.Thread(target=poll) if measure_latency else None
    if th:
        th.start()
    while True:
        s = call("DescribeAssetImageScanStatus", {"TaskID": task})
        if s["Status"] == "END":
            break
        time.sleep(0.5)
    done.set()
    if th:
        th.join()
    dt = time.time() - t0
    print(f"{label}: {s['ImageTotal']} images in {dt:.1f} s = {s['ImageTotal'] / dt * 60:.1f} images/min "
          f"(success {s['SuccessCount']}, findings {s['RiskCount']})")
    if lat:
        lat.sort()
        p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
        print(f"DescribeAssetImageScanStatus during the {label} scan: n={len(lat)} p50={p(0.5):.1f} ms "
              f"p99={p(0.99):.1f} ms max={lat[-1]:.1f} ms (SDK client, signing included)")


run("cold", True)
run("warm", True)
