"""20 requests per second per action per account (the TCSS pages' limit)."""
import threading
import time

from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from conftest import make_call


def test_21_concurrent_calls_hit_the_limit_other_action_unaffected(sqlite_server):
    key = sqlite_server.new_key()
    calls = [make_call(sqlite_server.endpoint, key) for _ in range(21)]
    barrier = threading.Barrier(21)
    codes = []
    lock = threading.Lock()

    def one(c):
        barrier.wait()
        try:
            c("DescribeAssetImageScanSetting")
            code = "ok"
        except TencentCloudSDKException as e:
            code = e.get_code()
        with lock:
            codes.append(code)

    threads = [threading.Thread(target=one, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(codes) == 21
    assert set(codes) <= {"ok", "RequestLimitExceeded"}, codes
    # The limit is a sliding one-second window: 21 calls released together cannot all be accepted.
    assert codes.count("RequestLimitExceeded") >= 1, codes
    # Another action of the same account is unaffected, and so is another account.
    call = make_call(sqlite_server.endpoint, key)
    call("CreateAssetImageScanSetting", {
        "Enable": True, "ScanTime": "01:00", "ScanPeriod": 1, "ScanVirus": True, "ScanRisk": True,
        "ScanVul": True})
    # It was carried out, not only answered: the setting reads back (after the window has passed,
    # since DescribeAssetImageScanSetting was the flooded action).
    time.sleep(1.1)
    s = call("DescribeAssetImageScanSetting")
    assert (s["Enable"], s["ScanPeriod"], s["ScanVirus"], s["ScanRisk"], s["ScanVul"]) == (True, 1, True, True, True), s
    other = sqlite_server.new_key()
    assert "Enable" in make_call(sqlite_server.endpoint, other)("DescribeAssetImageScanSetting")
