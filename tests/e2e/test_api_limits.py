"""Limits before and around authentication: the per-client-address token bucket (`serve --ip-rate-limit`), the
JSON array length and nesting depth limits (answered with TCSS codes naming the field)."""
import json
import urllib.request

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from conftest import Server, make_call
from tc3sign import send, sign_headers


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    """A server allowing 1 request per second per address (bursts of 2)."""
    srv = Server("sqlite", tmp_path_factory.mktemp("iplimit") / "srv", extra=["--ip-rate-limit", "1"]).start()
    yield srv
    srv.stop()


def test_per_address_limit_refuses_unsigned_floods_before_authentication(limited):
    codes = []
    for _ in range(40):
        r = send(limited.endpoint, {"Content-Type": "application/json", "X-TC-Action": "DescribeAssetImageList"}, b"{}")
        assert r.status == 200 and r.headers["content-type"] == "application/json"
        codes.append(r.code)
    assert set(codes) <= {"AuthFailure.InvalidAuthorization", "RequestLimitExceeded.IPLimitExceeded"}, codes
    # 40 requests cannot all fit a bucket of 2 refilled at 1/s.
    assert codes.count("RequestLimitExceeded.IPLimitExceeded") >= 1, codes
    # A correctly signed request from the same address is refused too while the bucket is empty: the
    # limit comes before the key lookup.
    key = limited.first_key()
    refused = 0
    for _ in range(10):
        h = sign_headers(key.secret_id, key.secret_key, limited.endpoint, "DescribeAssetImageScanSetting", b"{}")
        refused += send(limited.endpoint, h, b"{}").code == "RequestLimitExceeded.IPLimitExceeded"
    assert refused >= 1
    # /healthz is not limited (monitoring polls it).
    for _ in range(10):
        with urllib.request.urlopen(f"http://{limited.endpoint}/healthz", timeout=10) as r:
            assert r.status == 200


def test_sdk_sees_the_ip_limit_code(limited):
    call = make_call(limited.endpoint, limited.first_key())
    seen = set()
    for _ in range(20):
        try:
            call("DescribeAssetImageScanSetting")
            seen.add("ok")
        except TencentCloudSDKException as e:
            seen.add(e.get_code())
    assert "RequestLimitExceeded.IPLimitExceeded" in seen, seen


def test_array_longer_than_the_limit_names_the_field(call):
    with pytest.raises(TencentCloudSDKException) as e:
        call("CreateAssetImageScanTask", {"Images": [f"sha256:{i:064x}" for i in range(1001)]})
    assert e.value.get_code() == "InvalidParameterValue.LengthLimit"
    assert "`Images`" in e.value.get_message() and "1000" in e.value.get_message()


def test_nesting_deeper_than_the_limit_names_the_field(server, account):
    values = ["x"]
    for _ in range(32):
        values = [values]
    body = json.dumps({"Filters": [{"Name": "ImageName", "Values": values}]}).encode()
    h = sign_headers(account.secret_id, account.secret_key, server.endpoint, "DescribeAssetImageList", body)
    r = send(server.endpoint, h, body)
    assert r.code == "InvalidParameter.ParsingError"
    msg = r.json()["Response"]["Error"]["Message"]
    assert "`Filters[0].Values[0]" in msg and "deeper than 32" in msg, msg
