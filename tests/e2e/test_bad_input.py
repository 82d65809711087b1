"""Every bad input, generated from ../shared/spec/schema: each implemented action gets, one field at a
time, a value of the wrong JSON type, null, a negative and a huge number, a 1 MB string, a
10,000-element list, an unknown nested field, a NUL byte, and a body that is not UTF-8. Each answer
must be a TCSS error code ../shared/spec/errors.md documents (never InternalError), a type error must
name the field, the server must keep answering, and the account's state must be what it was.
"""
import collections
import json
import os
import re
from pathlib import Path

import pytest

from conftest import Server, make_call
from tc3sign import send, sign_headers
from test_image_scan import SHARED

SCHEMA = SHARED / "spec" / "schema"
DOCUMENTED = set(re.findall(r"`([A-Za-z]+(?:\.[A-Za-z0-9]+)*)`", (SHARED / "spec" / "errors.md").read_text()))


def schemas():
    for p in sorted(SCHEMA.glob("*.json")):
        if p.name == "objects.json":
            continue
        d = json.loads(p.read_text())
        yield d["action"], d["request"]


def raw_call(srv, key, action, body: bytes):
    headers = sign_headers(key.secret_id, key.secret_key, srv.endpoint, action, body)
    return send(srv.endpoint, headers, body)


def bad_values(field):
    """(label, value, names_the_field): values no handler may accept as they are."""
    t = field["type"]
    huge = 2 ** 70
    out = [("null", None, False)]
    if t == "string":
        out += [("wrong type", 12345, True), ("1 MB", "x" * (1 << 20), False), ("NUL", "a\u0000b", False)]
    elif t in ("int", "float"):
        out += [("wrong type", "abc", True), ("negative", -1, False), ("huge", huge, True), ("fraction", 1.5, False)]
    elif t == "bool":
        out += [("wrong type", "yes", True)]
    elif t == "list":
        item = "x" if field.get("member") == "string" else ({} if field.get("member") not in ("int", "uint64", "int64") else 1)
        out += [("wrong type", "not-a-list", True), ("10,000 items", [item] * 10_000, False),
                ("unknown nested", [{"Bogus": 1}], False)]
    elif t == "object":
        out += [("wrong type", [], True), ("unknown nested", {"Bogus": 1}, True)]
    return out


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = Server("sqlite", tmp_path_factory.mktemp("bad-input"), rate_limit=0, extra=["--ip-rate-limit", "0"]).start()
    yield s
    s.stop()


def snapshot(call, implemented):
    reads = {
        "DescribeAssetImageScanSetting": {},
        "DescribeAssetImageScanTask": {},
        "DescribeComplianceWhitelistItemList": {"Limit": 100},
        "DescribeCompliancePeriodTaskList": {"Limit": 100},
        "DescribeAssetImageRegistryRegistryList": {"Limit": 100},
        "DescribeImageRegistryTimingScanTask": {},
    }
    out = {}
    for action, params in reads.items():
        if action in implemented:
            try:
                r = call(action, params)
                out[action] = {k: v for k, v in r.items() if k != "RequestId"}
            except Exception as e:  # e.g. no task yet: the error is the state
                out[action] = getattr(e, "code", str(e))
    return out


def test_every_field_of_every_action(srv):
    key = srv.first_key()
    call = make_call(srv.endpoint, key)
    implemented = set()
    for action, _ in schemas():
        r = raw_call(srv, key, action, b"{}")
        if r.code != "UnsupportedOperation":
            implemented.add(action)
    assert len(implemented) >= 40, implemented
    before = snapshot(call, implemented)
    failures = []
    checked = 0
    codes = collections.Counter()
    for action, fields in schemas():
        if action not in implemented:
            continue
        for f in fields:
            for label, value, names_field in bad_values(f):
                body = json.dumps({f["name"]: value}).encode()
                r = raw_call(srv, key, action, body)
                checked += 1
                resp = r.json()["Response"]
                err = resp.get("Error")
                codes[err["Code"] if err else "(accepted)"] += 1
                if err is None:
                    # Accepted: only null (the field left out) may be, and then it is a valid request.
                    if label != "null":
                        failures.append(f"{action}.{f['name']} {label}: accepted")
                    continue
                code, message = err["Code"], err["Message"]
                if code.startswith("InternalError") or code not in DOCUMENTED:
                    failures.append(f"{action}.{f['name']} {label}: {code} {message[:200]}")
                elif names_field and f["name"] not in message:
                    failures.append(f"{action}.{f['name']} {label}: {code} does not name the field: {message[:200]}")
        # A body that is not UTF-8, and one that is not JSON.
        for body in (b'{"Limit": "\xff\xfe"}', b"\xc3\x28", b"[1, 2"):
            r = raw_call(srv, key, action, body)
            checked += 1
            code = r.json()["Response"]["Error"]["Code"]
            codes[code] += 1
            if code.startswith("InternalError") or code not in DOCUMENTED:
                failures.append(f"{action} raw {body!r}: {code}")
    assert not failures, f"{len(failures)} of {checked} answers are wrong:\n" + "\n".join(failures[:80])
    # Still answering, and nothing changed.
    assert call("DescribeAssetImageScanSetting", {}) is not None
    assert snapshot(call, implemented) == before
    print(f"{checked} bad requests over {len(implemented)} actions answered with documented errors")
    # The benchmark's figures (issue 16): requests sent and the codes seen, printed and written beside the log.
    summary = {"requests": checked, "actions": len(implemented), "codes": dict(codes.most_common())}
    print("bad-input summary:", json.dumps(summary))
    out = os.environ.get("SHIPSHAPE_BAD_INPUT_SUMMARY")
    if out:
        Path(out).write_text(json.dumps(summary, indent=2) + "\n")
