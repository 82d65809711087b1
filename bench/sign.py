"""Writes a wrk Lua script sending one pre-signed TC3 request (valid for 300 s).
usage: sign.py CREDENTIALS_JSON HOST:PORT ACTION [BODY]"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "e2e"))
from tc3sign import sign_headers  # noqa: E402

creds = json.loads(Path(sys.argv[1]).read_text())
host, action = sys.argv[2], sys.argv[3]
body = (sys.argv[4] if len(sys.argv) > 4 else "{}").encode()
headers = sign_headers(creds["SecretId"], creds["SecretKey"], host, action, body)
print('wrk.method = "POST"')
print(f"wrk.body = {json.dumps(body.decode())}")
for k, v in headers.items():
    if k != "Host":
        print(f'wrk.headers["{k}"] = {json.dumps(v)}')
# Count API errors (HTTP is always 200): a body with "Error" is a failed request.
print(r"""local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) errors = 0 end
function response(status, headers, body)
  if string.find(body, '"Error"', 1, true) then errors = errors + 1 end
end
function done(summary, latency, requests)
  local e = 0
  for _, t in ipairs(threads) do e = e + t:get("errors") end
  io.write(string.format("API errors: %d\n", e))
end""")
