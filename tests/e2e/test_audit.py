"""The audit trail: every write through the API (whatever its outcome) and every authentication
failure is recorded with who, what, from where and the outcome; reads are not. Read back with
`shipshape audit list` on both backends."""
import hashlib
import json

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from conftest import Key, make_call

SETTING = {"Enable": True, "ScanTime": "03:15", "ScanPeriod": 4, "ScanVirus": False, "ScanRisk": True, "ScanVul": True}


def entries(server, *args):
    out = server.cli("audit", "list", "--limit", "1000", *args)
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def test_writes_and_auth_failures_are_audited(server, account):
    call = make_call(server.endpoint, account)
    ok = call("CreateAssetImageScanSetting", SETTING)["RequestId"]
    read = call("DescribeAssetImageScanSetting", {})["RequestId"]
    with pytest.raises(TencentCloudSDKException) as bad:
        call("CreateAssetImageScanSetting", {**SETTING, "ScanTime": "25:99"})
    with pytest.raises(TencentCloudSDKException) as forged:
        make_call(server.endpoint, Key(account.secret_id, "wrong-secret", account.app_id))("DescribeAssetImageScanSetting", {})
    assert forged.value.code == "AuthFailure.SignatureFailure"

    mine = {e["RequestId"]: e for e in entries(server, "--app-id", str(account.app_id))}
    assert ok in mine and read not in mine
    e = mine[ok]
    assert (e["Action"], e["AppId"], e["SecretId"], e["Client"], e["Code"]) == (
        "CreateAssetImageScanSetting", account.app_id, account.secret_id, "127.0.0.1", "")
    assert e["Time"].endswith("Z")
    # The parameters are kept as their digest only: the SHA-256 of the body the SDK signed (json.dumps of them).
    assert e["ParamsSha256"] == hashlib.sha256(json.dumps(SETTING).encode()).hexdigest()
    assert "03:15" not in json.dumps(e)
    failed = mine[bad.value.requestId]
    assert failed["Code"] == bad.value.code and failed["Message"]
    assert failed["ParamsSha256"] == hashlib.sha256(json.dumps({**SETTING, "ScanTime": "25:99"}).encode()).hexdigest()
    everyone = {e["RequestId"]: e for e in entries(server)}
    f = everyone[forged.value.requestId]
    assert (f["Code"], f["AppId"], f["SecretId"]) == ("AuthFailure.SignatureFailure", None, account.secret_id)
    # --since filters by time.
    assert entries(server, "--app-id", str(account.app_id), "--since", "2999-01-01T00:00:00Z") == []
