// The console's TCSS client: every call is a signed `POST /` to the page's own origin, exactly as
// an SDK sends it. Mutating actions are never re-sent once the server may have run them (the API
// refuses a replayed signature) and never share a timestamp with an identical earlier call; reads
// over a rate limit are re-signed and tried again after a pause; a request refused for an expired
// timestamp (the browser's clock is off) is signed again once with the server's clock.
import { sign } from './tc3.js';

/** Mirror of api::action::is_mutating_name. */
export const isMutating = (action) =>
  !((action.startsWith('Describe') && !action.endsWith('Export')) || action.startsWith('Check'));

export class ApiError extends Error {
  constructor(code, message, requestId) {
    super(message);
    this.code = code;
    this.requestId = requestId;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function createClient(key, opts = {}) {
  const host = opts.host ?? location.host;
  const fetchImpl = opts.fetch ?? ((...a) => fetch(...a));
  const now = opts.now ?? (() => Date.now());
  const language = opts.language ?? (() => 'en-US');
  // action + body → the last timestamp used for it (mutating actions only).
  const lastSigned = new Map();
  // Server clock minus ours (ms), learnt from the Date header when they differ by more than a
  // minute: a browser with a wrong clock would otherwise sign every request out of the ±300 s window.
  let skew = 0;
  const serverNow = () => now() + skew;
  const learnSkew = (resp) => {
    const d = Date.parse(resp.headers?.get?.('Date') || '');
    if (!Number.isNaN(d) && Math.abs(d - now()) > 60_000) skew = d - now();
  };

  async function once(action, body) {
    let ts = Math.floor(serverNow() / 1000);
    if (isMutating(action)) {
      const k = action + '\n' + body;
      const last = lastSigned.get(k);
      if (last !== undefined && ts <= last) {
        // Same action, same body, same second: the same signature. Wait for the next second.
        await sleep((last + 1) * 1000 - serverNow() + 5);
        ts = Math.max(last + 1, Math.floor(serverNow() / 1000));
      }
      lastSigned.set(k, ts);
      if (lastSigned.size > 256) lastSigned.delete(lastSigned.keys().next().value);
    }
    const { headers } = await sign({ secretId: key.secretId, secretKey: key.secretKey, host, action, body, timestamp: ts });
    headers['X-TC-Language'] = language();
    const resp = await fetchImpl('/', { method: 'POST', headers, body, credentials: 'omit', cache: 'no-store' });
    learnSkew(resp);
    let json;
    try {
      json = await resp.json();
    } catch {
      throw new ApiError('HTTP', `HTTP ${resp.status}`, '');
    }
    const r = json && json.Response;
    if (!r) throw new ApiError('HTTP', `HTTP ${resp.status}: no Response`, '');
    if (r.Error) throw new ApiError(r.Error.Code, r.Error.Message, r.RequestId);
    return r;
  }

  return {
    async call(action, params = {}) {
      const body = JSON.stringify(params);
      for (let attempt = 0; ; attempt++) {
        try {
          return await once(action, body);
        } catch (e) {
          if (!(e instanceof ApiError) || attempt >= 2) throw e;
          // An expired signature was refused before anything ran (and before the replay check):
          // signing again with the server's clock is safe for every action.
          if (e.code === 'AuthFailure.SignatureExpire' && skew !== 0 && attempt === 0) continue;
          const limited = e.code.startsWith('RequestLimitExceeded');
          if (!limited || isMutating(action)) throw e;
          await sleep(1000 * (attempt + 1));
        }
      }
    },
  };
}
