"""Replay protection (api::replay), on SQLite and PostgreSQL: a signed request of an action that changes state is
carried out once per action (X-TC-Action is not signed, and two actions with the same body in the same second are
two calls); one answered with an error may be sent again; reads stay replayable; the memory of accepted signatures survives a restart and, on PostgreSQL, is shared
by every server on the database. Replays are hand-signed requests sent twice (the SDKs sign every call afresh)."""
import json
import shutil

from conftest import Server
from tc3sign import send, sign_headers

SETTING = {"Enable": True, "ScanTime": "02:00", "ScanPeriod": 3, "ScanVirus": True, "ScanRisk": True, "ScanVul": True}


def signed(endpoint, key, action, params, **kw):
    body = json.dumps(params).encode()
    return sign_headers(key.secret_id, key.secret_key, endpoint, action, body, **kw), body


def test_replayed_mutating_request_is_refused(server, account, call):
    headers, body = signed(server.endpoint, account, "CreateAssetImageScanSetting", SETTING)
    first = send(server.endpoint, headers, body)
    assert first.code is None, first.json()
    again = send(server.endpoint, headers, body)
    assert again.code == "AuthFailure"
    msg = again.json()["Response"]["Error"]["Message"]
    assert "replayed" in msg and "CreateAssetImageScanSetting" in msg
    assert again.json()["Response"]["RequestId"]
    # Nothing was written by the refused copy (the first one was).
    assert call("DescribeAssetImageScanSetting")["ScanPeriod"] == 3


def test_replayed_read_is_allowed(server, account):
    headers, body = signed(server.endpoint, account, "DescribeAssetImageScanSetting", {})
    for _ in range(3):
        r = send(server.endpoint, headers, body)
        assert r.code is None and "ScanPeriod" in r.json()["Response"]


def test_same_body_same_second_for_two_actions_is_not_a_replay(server, account):
    # The SDKs do not sign X-TC-Action: a read and a mutating call with the same body in the same second carry
    # the same signature. They are two calls; only the same action again is a replay.
    headers, body = signed(server.endpoint, account, "DescribeAssetImageScanSetting", SETTING)
    assert send(server.endpoint, headers, body).code == "UnknownParameter"
    headers["X-TC-Action"] = "CreateAssetImageScanSetting"
    assert send(server.endpoint, headers, body).code is None
    assert send(server.endpoint, headers, body).code == "AuthFailure"


def test_failed_mutating_request_may_be_sent_again(server, account):
    # It changed nothing, so sending it again is a retry (the signature is released on an error answer).
    headers, body = signed(server.endpoint, account, "ModifyAssetImageScanStop", {})
    for _ in range(3):
        assert send(server.endpoint, headers, body).code == "FailedOperation"


def test_same_body_signed_again_is_a_new_request(server, account):
    headers, body = signed(server.endpoint, account, "CreateAssetImageScanSetting", SETTING)
    ts = int(headers["X-TC-Timestamp"])
    assert send(server.endpoint, headers, body).code is None
    headers2, _ = signed(server.endpoint, account, "CreateAssetImageScanSetting", SETTING, timestamp=ts + 1)
    assert send(server.endpoint, headers2, body).code is None


def test_remembered_across_a_restart(server, account):
    headers, body = signed(server.endpoint, account, "CreateAssetImageScanSetting", SETTING)
    assert send(server.endpoint, headers, body).code is None
    server.restart()
    assert send(server.endpoint, headers, body).code == "AuthFailure"


def test_shared_by_replicas_on_postgres(server, account, tmp_path):
    if server.backend != "postgres":
        return  # one SQLite file has one server
    replica = Server("postgres", tmp_path / "replica", database=server.database)
    replica.data_dir.mkdir(parents=True)
    # Same database, same master key (the keys' secrets are sealed with it).
    shutil.copy(server.data_dir / "master.key", replica.data_dir / "master.key")
    replica.start()
    try:
        headers, body = signed(server.endpoint, account, "CreateAssetImageScanSetting", SETTING)
        assert send(server.endpoint, headers, body).code is None
        # The replica gets the same bytes (the Host header as signed) and refuses them.
        r = send(replica.endpoint, headers, body)
        assert r.code == "AuthFailure" and "replayed" in r.json()["Response"]["Error"]["Message"]
        # And the other way round.
        headers, body = signed(server.endpoint, account, "CreateAssetImageScanSetting", {**SETTING, "ScanPeriod": 4})
        assert send(replica.endpoint, headers, body).code is None
        assert send(server.endpoint, headers, body).code == "AuthFailure"
    finally:
        assert replica.stop() == 0
