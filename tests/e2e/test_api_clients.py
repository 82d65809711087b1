"""tccli and the Node SDK against the real server: success and error paths as each client surfaces them."""
import json

VALID = {"Enable": True, "ScanTime": "04:00", "ScanPeriod": 7, "ScanVirus": True, "ScanRisk": False, "ScanVul": True}


def test_tccli_round_trip(tccli):
    r = tccli("CreateAssetImageScanSetting", "--Enable", "true", "--ScanTime", "04:00", "--ScanPeriod", "7",
              "--ScanVirus", "true", "--ScanRisk", "false", "--ScanVul", "true",
              "--Images", '["nginx:1"]', "--ScanScope", "1")
    assert r.returncode == 0, r.stderr + r.stdout
    r = tccli("DescribeAssetImageScanSetting")
    assert r.returncode == 0, r.stderr + r.stdout
    got = json.loads(r.stdout)
    assert got["ScanPeriod"] == 7 and got["Images"] == ["nginx:1"] and got["ScanRisk"] is False


def test_tccli_error_exit_255_with_code(tccli):
    r = tccli("CreateAssetImageScanSetting", "--Enable", "true", "--ScanTime", "31:00", "--ScanPeriod", "1",
              "--ScanVirus", "true", "--ScanRisk", "true", "--ScanVul", "true")
    assert r.returncode == 255, r.stdout
    assert "code:InvalidParameter.InvalidFormat" in r.stderr + r.stdout
    r = tccli("DescribeVirusMonitorSetting")
    assert r.returncode == 255
    assert "code:UnsupportedOperation" in r.stderr + r.stdout


def test_node_round_trip(node_call):
    out = node_call("CreateAssetImageScanSetting", {**VALID, "ClusterIDs": ["cls-1"], "ScanScope": 3})
    assert out["ok"], out
    out = node_call("DescribeAssetImageScanSetting")
    assert out["ok"], out
    assert out["response"]["ScanPeriod"] == 7 and out["response"]["ClusterIDs"] == ["cls-1"]
    assert len(out["response"]["RequestId"]) == 36


def test_node_error_code_and_trace_id(node_call):
    out = node_call("CreateAssetImageScanSetting", {**VALID, "ScanPeriod": 0})
    assert not out["ok"] and out["code"] == "InvalidParameter.InvalidFormat", out
    assert out["requestId"] and out["traceId"], "X-TC-TraceId is echoed back"
    out = node_call("DescribeAssetImageScanSetting", {"Bogus": 1})
    assert out["code"] == "UnknownParameter", out
