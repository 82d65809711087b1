"""The API 3.0 protocol: every error code of issue 3, driven by the official Python SDK where it can
send the request, by a hand-signed request where only a broken client would."""
import json
import time

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.tcss.v20201101 import models

from conftest import Key, make_call, make_tcss
from tc3sign import send, sign_headers

DEFAULTS = {
    "Enable": False, "ScanTime": "00:00", "ScanPeriod": 1, "ScanVirus": True, "ScanRisk": True, "ScanVul": True,
    "All": False, "Images": [], "ContainerRunning": False, "ScanScope": 0, "ExcludeImages": [], "ClusterIDs": [],
}
VALID = {"Enable": True, "ScanTime": "01:00", "ScanPeriod": 2, "ScanVirus": True, "ScanRisk": True, "ScanVul": True}


def sdk_error(fn, *args) -> TencentCloudSDKException:
    with pytest.raises(TencentCloudSDKException) as e:
        fn(*args)
    assert e.value.get_request_id(), "every error carries a RequestId"
    return e.value


def signed(server, key: Key, action, body=b"{}", **kw):
    return send(server.endpoint, sign_headers(key.secret_id, key.secret_key, server.endpoint, action, body, **kw), body)


def test_describe_defaults_through_typed_sdk(tcss):
    resp = tcss.DescribeAssetImageScanSetting(models.DescribeAssetImageScanSettingRequest())
    got = json.loads(resp.to_json_string())
    for k, v in DEFAULTS.items():
        assert got[k] == v, k
    assert got["ScanEndTime"] is None and got["LastScanTime"] is None
    assert len(resp.RequestId) == 36


def test_success_and_error_headers_exact(server, account):
    h = sign_headers(account.secret_id, account.secret_key, server.endpoint, "DescribeAssetImageScanSetting", b"{}")
    h["X-TC-TraceId"] = "trace-123"
    r = send(server.endpoint, h, b"{}")
    assert r.status == 200 and r.headers["content-type"] == "application/json"
    assert r.headers["x-tc-traceid"] == "trace-123"
    body = r.json()["Response"]
    assert set(body) >= {"Enable", "RequestId"} and "Error" not in body
    h = sign_headers(account.secret_id, account.secret_key, server.endpoint, "NoSuchThing", b"{}")
    h["X-TC-TraceId"] = "trace-456"
    r = send(server.endpoint, h, b"{}")
    assert r.status == 200 and r.headers["content-type"] == "application/json"
    assert r.headers["x-tc-traceid"] == "trace-456"
    assert set(r.json()["Response"]) == {"Error", "RequestId"}
    assert set(r.json()["Response"]["Error"]) == {"Code", "Message"}


def test_signature_expire(server, account):
    for skew in (-301, 301):
        r = signed(server, account, "DescribeAssetImageScanSetting", timestamp=time.time() + skew)
        assert r.code == "AuthFailure.SignatureExpire"


def test_secret_id_not_found(server, account):
    bogus = Key("AKID" + "x" * 32, account.secret_key, 0)
    e = sdk_error(make_call(server.endpoint, bogus), "DescribeAssetImageScanSetting")
    assert e.get_code() == "AuthFailure.SecretIdNotFound"


def test_signature_failure(server, account):
    wrong = Key(account.secret_id, account.secret_key[:-1] + ("A" if account.secret_key[-1] != "A" else "B"), 0)
    e = sdk_error(make_call(server.endpoint, wrong), "DescribeAssetImageScanSetting")
    assert e.get_code() == "AuthFailure.SignatureFailure"
    # A body altered after signing fails too: the raw body is what is signed.
    h = sign_headers(account.secret_id, account.secret_key, server.endpoint, "DescribeAssetImageScanSetting", b"{}")
    assert send(server.endpoint, h, b"{ }").code == "AuthFailure.SignatureFailure"


@pytest.mark.parametrize("authorization", [
    None,
    "",
    "Basic dXNlcjpwYXNz",
    "TC3-HMAC-SHA256 Credential=AKIDx/2026-11-22/tcss, SignedHeaders=content-type;host, Signature=00",
    "TC3-HMAC-SHA256 Credential=AKIDx/2026-11-22/tcss/tc3_request, SignedHeaders=content-type;host",
])
def test_invalid_authorization(server, account, authorization):
    h = sign_headers(account.secret_id, account.secret_key, server.endpoint, "DescribeAssetImageScanSetting", b"{}")
    if authorization is None:
        del h["Authorization"]
    else:
        h["Authorization"] = authorization
    assert send(server.endpoint, h, b"{}").code == "AuthFailure.InvalidAuthorization"


def test_invalid_action(call):
    e = sdk_error(call, "DescribeNoSuchThing")
    assert e.get_code() == "InvalidAction"
    assert "DescribeNoSuchThing" in e.get_message()
    # The one requested name that does not exist in 2020-11-01.
    assert sdk_error(call, "ScanComplianceAssetsV2").get_code() == "InvalidAction"


def test_unsupported_operation_names_the_action(call):
    e = sdk_error(call, "DescribeVirusMonitorSetting", {})
    assert e.get_code() == "UnsupportedOperation"
    assert "DescribeVirusMonitorSetting" in e.get_message()


def test_no_such_version(server, account):
    e = sdk_error(make_call(server.endpoint, account, version="2018-01-01"), "DescribeAssetImageScanSetting")
    assert e.get_code() == "NoSuchVersion"


@pytest.mark.parametrize("body", [b"not json", b"", b"[1, 2]", b'"x"', b'{"Enable": true', b'{} {}'])
def test_parsing_error(server, account, body):
    assert signed(server, account, "CreateAssetImageScanSetting", body).code == "InvalidParameter.ParsingError"


@pytest.mark.parametrize("field,value", [
    ("ScanPeriod", "7"), ("ScanPeriod", 1.5), ("ScanPeriod", -1), ("Enable", "yes"), ("Images", "nginx"),
    ("Images", [1]), ("ScanScope", True),
])
def test_wrong_type_names_the_field(call, field, value):
    e = sdk_error(call, "CreateAssetImageScanSetting", {**VALID, field: value})
    assert e.get_code() == "InvalidParameter"
    assert field in e.get_message()


@pytest.mark.parametrize("field,value", [
    ("ScanTime", "25:00"), ("ScanTime", "1:00"), ("ScanTime", "noon"), ("ScanPeriod", 0), ("ScanScope", 4),
    ("ScanEndTime", "24:30"), ("ScanEndTime", "01:00"), ("Images", [""]),
])
def test_out_of_range_names_the_field(call, field, value):
    e = sdk_error(call, "CreateAssetImageScanSetting", {**VALID, field: value})
    assert e.get_code() == "InvalidParameter.InvalidFormat"
    assert field in e.get_message()


@pytest.mark.parametrize("missing", ["Enable", "ScanTime", "ScanPeriod", "ScanVirus", "ScanRisk", "ScanVul"])
def test_missing_required_field(call, missing):
    params = {k: v for k, v in VALID.items() if k != missing}
    e = sdk_error(call, "CreateAssetImageScanSetting", params)
    assert e.get_code() == "InvalidParameter.MissingParameter"
    assert missing in e.get_message()


def test_missing_field_required_by_scope(call):
    e = sdk_error(call, "CreateAssetImageScanSetting", {**VALID, "ScanScope": 1})
    assert e.get_code() == "InvalidParameter.MissingParameter" and "Images" in e.get_message()


def test_unknown_parameter(call):
    e = sdk_error(call, "CreateAssetImageScanSetting", {**VALID, "Bogus": 1})
    assert e.get_code() == "UnknownParameter" and "Bogus" in e.get_message()
    e = sdk_error(call, "DescribeAssetImageScanSetting", {"Limit": 1})
    assert e.get_code() == "UnknownParameter" and "Limit" in e.get_message()


def test_errors_change_nothing(call):
    call("CreateAssetImageScanSetting", {**VALID, "ScanPeriod": 5})
    for bad in ({**VALID, "ScanPeriod": 0}, {**VALID, "Bogus": 1}, {**VALID, "ScanTime": "99:99", "ScanPeriod": 9}):
        sdk_error(call, "CreateAssetImageScanSetting", bad)
    assert call("DescribeAssetImageScanSetting")["ScanPeriod"] == 5


def test_legacy_v1_signature_and_get_are_refused_clearly(server, account):
    for kw in ({"signMethod": "HmacSHA256"}, {"signMethod": "HmacSHA1"}):
        e = sdk_error(make_tcss(server.endpoint, account, **kw).DescribeAssetImageScanSetting,
                      models.DescribeAssetImageScanSettingRequest())
        assert e.get_code() == "UnsupportedProtocol" and "TC3-HMAC-SHA256" in e.get_message()
    from tencentcloud.common.common_client import CommonClient
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    get_client = CommonClient("tcss", "2020-11-01", credential.Credential(account.secret_id, account.secret_key),
                              "ap-guangzhou", profile=ClientProfile(httpProfile=HttpProfile(
                                  endpoint=server.endpoint, protocol="http", reqMethod="GET")))
    with pytest.raises(TencentCloudSDKException) as e:
        get_client.call_json("DescribeAssetImageScanSetting", {})
    assert e.value.get_code() == "UnsupportedProtocol"


def test_request_size_limit(server, account):
    """A body over 10 MB is refused from its Content-Length, before the server reads it."""
    import http.client
    size = 10 * 1024 * 1024 + 1
    h = sign_headers(account.secret_id, account.secret_key, server.endpoint, "CreateAssetImageScanSetting", b"{}")
    host, port = server.endpoint.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.putrequest("POST", "/", skip_host=True, skip_accept_encoding=True)
    for k, v in {**h, "Content-Length": str(size)}.items():
        conn.putheader(k, v)
    conn.endheaders()
    r = conn.getresponse()
    assert r.status == 200 and r.getheader("Content-Type") == "application/json"
    assert json.loads(r.read())["Response"]["Error"]["Code"] == "RequestSizeLimitExceeded"
    conn.close()


def test_disabled_key_is_refused(server):
    key = server.new_key()
    call = make_call(server.endpoint, key)
    assert "Enable" in call("DescribeAssetImageScanSetting")
    server.cli("keys", "disable", key.secret_id)
    # Keys are cached for at most a second (service::credentials::TTL): refused from then on.
    import time
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            call("DescribeAssetImageScanSetting")
        except Exception:
            break
        time.sleep(0.2)
    assert sdk_error(call, "DescribeAssetImageScanSetting").get_code() == "AuthFailure.SecretIdNotFound"
    listed = json.loads(server.cli("keys", "list").stdout)
    assert {"SecretId": key.secret_id, "Status": "disabled"}.items() <= next(
        k for k in listed if k["SecretId"] == key.secret_id).items()
    assert all("SecretKey" not in k for k in listed)


def test_healthz_needs_no_signature(server):
    import urllib.request
    with urllib.request.urlopen(f"http://{server.endpoint}/healthz") as r:
        assert r.status == 200 and json.load(r) == {"Status": "ok"}
