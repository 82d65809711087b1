"""Image scan settings: full round trip and persistence across a graceful restart, on every backend."""
from tencentcloud.tcss.v20201101 import models

from conftest import make_call, make_tcss

FULL = {
    "Enable": True, "ScanTime": "22:30", "ScanPeriod": 3, "ScanVirus": True, "ScanRisk": False, "ScanVul": True,
    "All": False, "Images": ["registry.example/app:1", "sha256:" + "a" * 64], "ContainerRunning": True,
    "ScanScope": 1, "ScanEndTime": "02:00", "ExcludeImages": ["busybox:latest"], "ClusterIDs": ["cls-xt1t"],
}


def test_round_trip_and_restart(server):
    key = server.new_key()
    tcss = make_tcss(server.endpoint, key)
    req = models.CreateAssetImageScanSettingRequest()
    req.from_json_string(__import__("json").dumps(FULL))
    resp = tcss.CreateAssetImageScanSetting(req)
    assert resp.RequestId

    def describe():
        return make_call(server.endpoint, key)("DescribeAssetImageScanSetting")

    got = describe()
    for k, v in FULL.items():
        assert got[k] == v, k
    assert "LastScanTime" not in got and "ScanResult" not in got

    server.restart()
    got = describe()
    for k, v in FULL.items():
        assert got[k] == v, k

    # Create replaces the whole setting; omitted optional fields return to their defaults.
    make_call(server.endpoint, key)("CreateAssetImageScanSetting", {
        "Enable": False, "ScanTime": "05:00:00", "ScanPeriod": 1, "ScanVirus": False, "ScanRisk": False,
        "ScanVul": False})
    got = describe()
    assert got["ScanTime"] == "05:00:00" and got["Images"] == [] and got["ScanScope"] == 0
    assert got["ClusterIDs"] == [] and "ScanEndTime" not in got
