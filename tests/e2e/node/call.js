#!/usr/bin/env node
// Calls one TCSS action through the official Node SDK (tencentcloud-sdk-nodejs, installed by
// `npm install` in this folder). Credentials come from SHIPSHAPE_SECRET_ID / SHIPSHAPE_SECRET_KEY.
//   node call.js --endpoint 127.0.0.1:PORT --action DescribeAssetImageScanSetting --params '{}'
// Prints {"ok": true, "response": …} or {"ok": false, "code": …, "message": …, "requestId": …, "traceId": …}.
const { Client } = require("tencentcloud-sdk-nodejs/tencentcloud/services/tcss/v20201101/tcss_client");

function arg(name, dflt) {
  const i = process.argv.indexOf("--" + name);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

async function main() {
  const client = new Client({
    credential: { secretId: process.env.SHIPSHAPE_SECRET_ID, secretKey: process.env.SHIPSHAPE_SECRET_KEY },
    region: "ap-guangzhou",
    // endpoint is host:port WITHOUT a scheme; protocol must be "http://" (protocol.md §1).
    profile: { httpProfile: { endpoint: arg("endpoint"), protocol: "http://", reqTimeout: 10 } },
  });
  try {
    const resp = await client[arg("action")](JSON.parse(arg("params", "{}")));
    console.log(JSON.stringify({ ok: true, response: resp }));
  } catch (e) {
    console.log(JSON.stringify({
      ok: false, exception: e.constructor && e.constructor.name, code: e.code,
      message: String(e.message), requestId: e.requestId, traceId: e.traceId, httpCode: e.httpCode,
    }));
  }
}
main();
