"""A minimal TC3-HMAC-SHA256 signer for hand-made requests (protocol errors the SDKs never send).

Follows ../shared/spec/protocol.md §3; the official SDKs are used for everything else."""
import hashlib
import hmac
import http.client
import json
import time


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def sign_headers(secret_id, secret_key, host, action, body: bytes, *, timestamp=None, service="tcss",
                 version="2020-11-01", content_type="application/json"):
    ts = int(time.time()) if timestamp is None else int(timestamp)
    date = time.strftime("%Y-%m-%d", time.gmtime(ts))
    canonical = "\n".join([
        "POST", "/", "",
        f"content-type:{content_type}\nhost:{host}\n",
        "content-type;host",
        hashlib.sha256(body).hexdigest(),
    ])
    scope = f"{date}/{service}/tc3_request"
    sts = "\n".join(["TC3-HMAC-SHA256", str(ts), scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), date), service), "tc3_request")
    sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    return {
        "Content-Type": content_type,
        "Host": host,
        "X-TC-Action": action,
        "X-TC-Version": version,
        "X-TC-Timestamp": str(ts),
        "X-TC-Region": "ap-guangzhou",
        "Authorization": f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={sig}",
    }


class RawResponse:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    @property
    def code(self):
        return self.json()["Response"].get("Error", {}).get("Code")


def send(endpoint, headers, body: bytes, method="POST", path="/") -> RawResponse:
    host, port = endpoint.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return RawResponse(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()
