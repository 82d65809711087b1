// Unit tests without a browser (npm test = node --test): the signer against the worked example of
// ../shared/spec/protocol.md §3.3 (a real Python SDK capture), the client's replay and clock rules,
// the translations and the next scheduled scan.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sign, signingKey, utcDate } from '../src/tc3.js';
import { ApiError, createClient, isMutating } from '../src/api.js';
import { defaultLanguage, keysOf, translator } from '../src/i18n.js';

const hex = (a) => Buffer.from(a).toString('hex');
const example = {
  secretId: 'AKIDShipshapeTestId000000000000000',
  secretKey: 'ShipshapeTestSecretKey0000000000',
  host: '127.0.0.1:18080',
  action: 'DescribeAssetImageList',
  body: '{"Limit": 10, "Offset": 0, "Filters": [{"Name": "ImageName", "Values": ["nginx"], "ExactMatch": true}]}',
  timestamp: 1795391718,
};

test('worked example: SDK header set gives the capture signature', async () => {
  const s = await sign({ ...example, signedHeaders: ['content-type', 'host'] });
  assert.equal(utcDate(example.timestamp), '2026-11-22');
  assert.equal(
    s.canonicalRequest,
    'POST\n/\n\ncontent-type:application/json\nhost:127.0.0.1:18080\n\ncontent-type;host\n8a4264dba52c77b40939de2bcd6989873bfcc507e9246dca777a24f913cfd26e',
  );
  assert.equal(hex(await signingKey(example.secretKey, '2026-11-22', 'tcss')), 'ff1d22aa2e40b3553c000c2b62b509bcff8bc8579b4ab1fb5496cf95012a0721');
  assert.equal(s.signature, '23e0a77dbd7baf0d81af3a1e82d0f9671c14b42d1515def6e6847608ae02e54e');
  assert.equal(
    s.headers.Authorization,
    'TC3-HMAC-SHA256 Credential=AKIDShipshapeTestId000000000000000/2026-11-22/tcss/tc3_request, SignedHeaders=content-type;host, Signature=23e0a77dbd7baf0d81af3a1e82d0f9671c14b42d1515def6e6847608ae02e54e',
  );
  assert.equal(s.headers['X-TC-Version'], '2020-11-01');
  assert.equal(s.headers['X-TC-Timestamp'], '1795391718');
});

test('the console signs the action too (lower-cased in the canonical headers)', async () => {
  const s = await sign(example);
  assert.match(s.canonicalRequest, /\nhost:127\.0\.0\.1:18080\nx-tc-action:describeassetimagelist\n\ncontent-type;host;x-tc-action\n/);
  assert.match(s.headers.Authorization, /SignedHeaders=content-type;host;x-tc-action,/);
  assert.notEqual(s.signature, '23e0a77dbd7baf0d81af3a1e82d0f9671c14b42d1515def6e6847608ae02e54e');
});

test('mutating actions as the API classifies them', () => {
  assert.equal(isMutating('DescribeAssetImageList'), false);
  assert.equal(isMutating('CheckRepeatAssetImageRegistry'), false);
  assert.equal(isMutating('DescribeAssetImageListExport'), true);
  assert.equal(isMutating('CreateAssetImageScanTask'), true);
});

function fakeServer(answer, serverDate) {
  const seen = [];
  let clock = 1795391718000;
  const fetch = async (_url, init) => {
    seen.push({ ts: init.headers['X-TC-Timestamp'], auth: init.headers.Authorization, action: init.headers['X-TC-Action'] });
    const headers = new Headers(serverDate ? { Date: new Date(serverDate).toUTCString() } : {});
    return { status: 200, headers, json: async () => answer(seen.length) };
  };
  return { seen, fetch, now: () => clock, tick: (ms) => (clock += ms) };
}

test('the same mutating call twice in one second is signed with the next second', async () => {
  const srv = fakeServer(() => ({ Response: { TaskID: 't', RequestId: 'r' } }));
  const realNow = srv.now;
  let waited = 0;
  const c = createClient({ secretId: 'id', secretKey: 'k' }, {
    host: 'h:1', fetch: srv.fetch, now: () => realNow() + waited,
  });
  // Let the client's sleep pass "time" by advancing the fake clock when it waits.
  const origSetTimeout = globalThis.setTimeout;
  globalThis.setTimeout = (fn, ms) => { waited += ms; return origSetTimeout(fn, 0); };
  try {
    await c.call('CreateAssetImageScanTask', { Images: ['a'] });
    await c.call('CreateAssetImageScanTask', { Images: ['a'] });
    await c.call('CreateAssetImageScanTask', { Images: ['b'] });
  } finally {
    globalThis.setTimeout = origSetTimeout;
  }
  assert.equal(srv.seen.length, 3);
  assert.notEqual(srv.seen[0].ts, srv.seen[1].ts);
  assert.notEqual(srv.seen[0].auth, srv.seen[1].auth);
});

test('an API error carries its code and message; a mutating call is never re-sent', async () => {
  const srv = fakeServer(() => ({ Response: { Error: { Code: 'RequestLimitExceeded', Message: 'slow down' }, RequestId: 'r' } }));
  const c = createClient({ secretId: 'id', secretKey: 'k' }, { host: 'h:1', fetch: srv.fetch, now: srv.now });
  await assert.rejects(c.call('ModifyAssetImageScanStop', { TaskID: 't' }), (e) => e instanceof ApiError && e.code === 'RequestLimitExceeded' && e.message === 'slow down');
  assert.equal(srv.seen.length, 1);
});

test('a browser clock off by an hour: the expired request is signed again with the server clock, once', async () => {
  const serverTime = 1795391718000 + 3600_000;
  const srv = fakeServer(
    (n) => (n === 1 ? { Response: { Error: { Code: 'AuthFailure.SignatureExpire', Message: 'expired' }, RequestId: 'r' } } : { Response: { TaskID: 't', RequestId: 'r' } }),
    serverTime,
  );
  const c = createClient({ secretId: 'id', secretKey: 'k' }, { host: 'h:1', fetch: srv.fetch, now: srv.now });
  assert.deepEqual(await c.call('CreateAssetImageScanTask', { Images: ['a'] }), { TaskID: 't', RequestId: 'r' });
  assert.equal(srv.seen.length, 2);
  assert.equal(Number(srv.seen[1].ts), serverTime / 1000);
});

test('every English string has its Chinese one, and the reverse', () => {
  assert.deepEqual(keysOf('zh').sort(), keysOf('en').sort());
  const t = translator('zh');
  assert.equal(t('nav.overview'), '概览');
  assert.equal(t('scan.detail', { pct: 50, done: 1, total: 2 }), '50 % · 已完成 1 / 2 个镜像');
  assert.equal(defaultLanguage(['zh-CN', 'en']), 'zh');
  assert.equal(defaultLanguage(['de-DE', 'en-GB']), 'en');
  assert.equal(defaultLanguage(['fr']), 'en');
});

import { nextScan } from '../src/schedule.js';

test('next scheduled scan, as crates/scan/src/schedule.rs computes it', () => {
  const now = Date.UTC(2026, 11, 3, 12, 0, 0);
  assert.equal(nextScan({ Enable: false, ScanTime: '01:00', ScanPeriod: 1 }, now), null);
  // No run yet: the next ScanTime from now (today's passed, so tomorrow's).
  assert.deepEqual(nextScan({ Enable: true, ScanTime: '01:00', ScanPeriod: 3 }, now), { at: Date.UTC(2026, 11, 4, 1, 0) });
  assert.deepEqual(nextScan({ Enable: true, ScanTime: '13:30:00', ScanPeriod: 3 }, now), { at: Date.UTC(2026, 11, 3, 13, 30) });
  // After a run: that run's day at ScanTime plus the period.
  assert.deepEqual(
    nextScan({ Enable: true, ScanTime: '01:00', ScanPeriod: 3, LastScanTime: '2026-12-02 01:00:04' }, now),
    { at: Date.UTC(2026, 11, 5, 1, 0) },
  );
  assert.deepEqual(nextScan({ Enable: true, ScanTime: '01:00', ScanPeriod: 1, LastScanTime: '2026-11-30 01:00:04' }, now), { due: true });
});

import { STALE_SECONDS, advisoryAge, fetchAdvisoryAge, parseAdvisoryAge } from '../src/advisory.js';

test('advisory data age from /metrics: parsed, worded, warned', async () => {
  const text = '# HELP shipshape_advisory_data_age_seconds Seconds since the latest advisory import (-1: no advisory data).\n'
    + '# TYPE shipshape_advisory_data_age_seconds gauge\nshipshape_advisory_data_age_seconds 7300\nshipshape_nodes_online 1\n# EOF\n';
  assert.equal(parseAdvisoryAge(text), 7300);
  assert.equal(parseAdvisoryAge('shipshape_advisory_data_age_seconds -1\n'), -1);
  assert.equal(parseAdvisoryAge('shipshape_advisory_data_age_seconds_total 5\n'), null);
  assert.equal(parseAdvisoryAge('<html>not metrics</html>'), null);
  assert.deepEqual(advisoryAge(null), { state: 'unknown' });
  assert.deepEqual(advisoryAge(-1), { state: 'none' });
  assert.deepEqual(advisoryAge(59), { state: 'ok', n: 0, unit: 'now' });
  assert.deepEqual(advisoryAge(61), { state: 'ok', n: 1, unit: 'minutes' });
  assert.deepEqual(advisoryAge(7300), { state: 'ok', n: 2, unit: 'hours' });
  assert.deepEqual(advisoryAge(STALE_SECONDS), { state: 'ok', n: 2, unit: 'days' });
  assert.deepEqual(advisoryAge(STALE_SECONDS + 1), { state: 'stale', n: 2, unit: 'days' });
  assert.equal(await fetchAdvisoryAge(async () => ({ ok: true, text: async () => text })), 7300);
  assert.equal(await fetchAdvisoryAge(async () => ({ ok: false, text: async () => text })), null);
  assert.equal(await fetchAdvisoryAge(async () => { throw new TypeError('network'); }), null);
  assert.equal(translator('zh')('overview.advisoryAge.days', { n: 3 }), '3 天前更新');
});
