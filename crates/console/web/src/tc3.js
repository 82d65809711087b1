// TC3-HMAC-SHA256 signing with WebCrypto (../shared/spec/protocol.md §3), the same canonical request
// as the official SDKs and crates/api/src/tc3.rs. Pure: no DOM, no storage; runs in the browser
// and under `node --test` (Node 20 has globalThis.crypto.subtle).

const enc = new TextEncoder();

const toHex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');

export async function sha256Hex(text) {
  return toHex(await crypto.subtle.digest('SHA-256', enc.encode(text)));
}

async function hmac(key, msg) {
  const raw = typeof key === 'string' ? enc.encode(key) : key;
  const k = await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', k, enc.encode(msg)));
}

/** The UTC date (YYYY-MM-DD) of a Unix timestamp: the credential scope's date. */
export function utcDate(timestamp) {
  return new Date(timestamp * 1000).toISOString().slice(0, 10);
}

/** `SecretSigning` of protocol.md §3.1 step 6. */
export async function signingKey(secretKey, date, service) {
  const kDate = await hmac('TC3' + secretKey, date);
  const kService = await hmac(kDate, service);
  return hmac(kService, 'tc3_request');
}

/**
 * Signs one `POST /` request. `signedHeaders` defaults to content-type;host;x-tc-action: unlike the
 * SDKs (content-type;host) the console also signs the action, so a captured request cannot be
 * re-sent under another action (crates/api/src/replay.rs).
 * Returns the request headers (without Host: the browser sends it) and the intermediate values.
 */
export async function sign({
  secretId,
  secretKey,
  host,
  action,
  body,
  timestamp,
  service = 'tcss',
  version = '2020-11-01',
  region = 'ap-guangzhou',
  contentType = 'application/json',
  signedHeaders = ['content-type', 'host', 'x-tc-action'],
}) {
  const values = { 'content-type': contentType, host, 'x-tc-action': action };
  const canonicalHeaders = signedHeaders.map((n) => `${n}:${String(values[n]).trim().toLowerCase()}\n`).join('');
  const signed = signedHeaders.join(';');
  const canonicalRequest = ['POST', '/', '', canonicalHeaders, signed, await sha256Hex(body)].join('\n');
  const date = utcDate(timestamp);
  const scope = `${date}/${service}/tc3_request`;
  const stringToSign = ['TC3-HMAC-SHA256', String(timestamp), scope, await sha256Hex(canonicalRequest)].join('\n');
  const signature = toHex(await hmac(await signingKey(secretKey, date, service), stringToSign));
  return {
    canonicalRequest,
    stringToSign,
    signature,
    headers: {
      'Content-Type': contentType,
      'X-TC-Action': action,
      'X-TC-Timestamp': String(timestamp),
      'X-TC-Version': version,
      'X-TC-Region': region,
      Authorization: `TC3-HMAC-SHA256 Credential=${secretId}/${scope}, SignedHeaders=${signed}, Signature=${signature}`,
    },
  };
}
