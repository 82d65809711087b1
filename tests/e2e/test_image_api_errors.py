"""Image actions: every documented error, through the official SDK, on SQLite and PostgreSQL.
Bad input is answered with its TCSS code and creates nothing (no task appears)."""
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

def code(call, action, params):
    try:
        call(action, params)
    except TencentCloudSDKException as e:
        return e.get_code()
    return "OK"

def test_image_actions_errors(call):
    r = call("DescribeAssetImageList", {"Limit": 5})
    assert len(r["List"]) <= 5 and r["TotalCount"] >= len(r["List"])
    assert code(call, "DescribeAssetImageList", {"By": "Nope"}) == "InvalidParameter"
    assert code(call, "DescribeAssetImageList", {"Limit": 101}) == "InvalidParameter"
    assert code(call, "CreateAssetImageScanTask", {"All": True}) == "InvalidParameter"
    assert code(call, "CreateAssetImageScanTask", {"All": True, "ScanVul": True}) == "FailedOperation"
    assert code(call, "CreateAssetImageScanTask", {"Images": ["nope:1"], "ScanRisk": True}) == "ResourceNotFound"
    assert code(call, "DescribeAssetImageScanStatus", {}) == "ResourceNotFound"
    assert code(call, "DescribeAssetImageScanStatus", {"TaskID": "x"}) == "ResourceNotFound"
    assert code(call, "DescribeAssetImageScanTask", {}) == "ResourceNotFound"
    assert code(call, "ModifyAssetImageScanStop", {}) == "FailedOperation"
    assert code(call, "DescribeAssetImageVulList", {"ImageID": "sha256:00"}) == "ResourceNotFound"
    assert code(call, "DescribeAssetImageVirusList", {"ImageID": "sha256:00"}) == "ResourceNotFound"
    assert code(call, "DescribeAssetImageRiskList", {"ImageID": "sha256:00"}) == "ResourceNotFound"
    assert code(call, "DescribeAssetImageDetail", {"ImageID": "sha256:00"}) == "ResourceNotFound"
    assert code(call, "DescribeAssetImageVulList", {}) == "InvalidParameter.MissingParameter"
    assert code(call, "CreateAssetImageScanTask", {"All": True, "ScanRisk": True, "Bogus": 1}) == "UnknownParameter"
    assert code(call, "CreateAssetImageScanTask", {"All": True, "ScanRisk": True, "ScanScope": 4}) == "InvalidParameter"
    assert code(call, "CreateAssetImageScanTask", {"All": True, "ScanRisk": True, "Timeout": 0}) == "InvalidParameter"
    # None of the above created a task.
    assert code(call, "DescribeAssetImageScanTask", {}) == "ResourceNotFound"
