"""Accounts and keys: isolation between accounts, keys of one account share its data, first-start bootstrap."""
import json
import os
import stat
import time

from conftest import Key, make_call

VALID = {"Enable": True, "ScanTime": "03:15", "ScanPeriod": 4, "ScanVirus": False, "ScanRisk": True, "ScanVul": True}


def test_two_accounts_are_isolated(server):
    a, b = server.new_key(), server.new_key()
    assert a.app_id != b.app_id
    call_a, call_b = make_call(server.endpoint, a), make_call(server.endpoint, b)
    call_a("CreateAssetImageScanSetting", {**VALID, "Images": ["nginx:1"], "ScanScope": 1})
    assert call_b("DescribeAssetImageScanSetting")["ScanPeriod"] == 1, "B still sees its defaults"
    call_b("CreateAssetImageScanSetting", {**VALID, "ScanPeriod": 9})
    got_a = call_a("DescribeAssetImageScanSetting")
    assert got_a["ScanPeriod"] == 4 and got_a["Images"] == ["nginx:1"]
    assert call_b("DescribeAssetImageScanSetting")["ScanPeriod"] == 9


def test_second_key_of_an_account_sees_its_data(server):
    a = server.new_key()
    make_call(server.endpoint, a)("CreateAssetImageScanSetting", {**VALID, "ScanPeriod": 6})
    a2 = server.new_key(app_id=a.app_id)
    assert a2.app_id == a.app_id and a2.secret_id != a.secret_id
    assert make_call(server.endpoint, a2)("DescribeAssetImageScanSetting")["ScanPeriod"] == 6


def test_keys_create_for_unknown_account_fails(server):
    r = server.cli("keys", "create", "--app-id", "42", check=False)
    assert r.returncode != 0 and "42" in r.stderr


def test_first_start_bootstraps_credentials(server):
    path = server.data_dir / "credentials.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(server.data_dir / "master.key").st_mode) == 0o600
    # The data directory and the database files are owner-only too (store::private_fs), whatever the umask.
    assert stat.S_IMODE(os.stat(server.data_dir).st_mode) == 0o700
    if server.backend == "sqlite":
        for name in ("shipshape.db", "shipshape.db-wal", "shipshape.db-shm"):
            assert stat.S_IMODE(os.stat(server.data_dir / name).st_mode) == 0o600, name
    key = server.first_key()
    assert key.secret_id.startswith("AKID")
    assert "Enable" in make_call(server.endpoint, key)("DescribeAssetImageScanSetting")
    assert str(path) in server.log(), "the log says where the credentials are"
    assert key.secret_key not in server.log(), "the secret never reaches the log"
    listed = json.loads(server.cli("keys", "list").stdout)
    assert any(k["SecretId"] == key.secret_id and k["Status"] == "enabled" for k in listed)


def test_version_flag():
    import subprocess
    from conftest import shipshape_bin
    out = subprocess.run([shipshape_bin(), "--version"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("shipshape ")


def test_keys_rotate(server):
    """`keys rotate` gives the account a new key and disables the old one (API caches drop it within 1 s)."""
    old = server.new_key()
    assert make_call(server.endpoint, old)("DescribeAssetImageScanSetting") is not None
    out = server.cli("keys", "rotate", old.secret_id)
    c = json.loads(out.stdout)
    new = Key(c["SecretId"], c["SecretKey"], c["AppId"])
    assert new.app_id == old.app_id and new.secret_id != old.secret_id
    assert make_call(server.endpoint, new)("DescribeAssetImageScanSetting") is not None
    deadline, refused = time.time() + 10, None
    while time.time() < deadline and refused is None:
        try:
            make_call(server.endpoint, old)("DescribeAssetImageScanSetting")
            time.sleep(0.2)
        except Exception as e:
            refused = e
    assert refused is not None and refused.code == "AuthFailure.SecretIdNotFound"
    again = server.cli("keys", "rotate", old.secret_id, check=False)
    assert again.returncode != 0 and old.secret_id in again.stderr
