// Page load times of the console with N images (default 1,000), in Debian's Chromium: measures,
// prints, asserts nothing about time.
//
//   node e2e/perf.mjs SHIPSHAPE_BIN [N=1000] [RUNS=5]
//
// Seeds a registry of its own (Debian's docker-registry, throw-away storage) with N distinct
// images — one shared gzip layer, a config per image (so N image ids), 10 repositories — over the
// registry HTTP API, starts `shipshape serve` on a fresh data dir, adds the registry through the
// API (signed with the console's own client, src/api.js) and waits until its images are in the
// inventory. Then, signed in, each page is opened RUNS times by its link's hash; the time is from
// the hash change to the page showing its data (its table or form present, no "Loading…" left),
// measured inside the page with performance.now(). Also: the first load (navigation timing) and
// the API calls each page makes. CHROMIUM overrides /usr/bin/chromium.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from './browser.mjs';
import { createClient } from '../src/api.js';

const [bin, nArg, runsArg] = process.argv.slice(2);
if (!bin) {
  console.error('usage: node e2e/perf.mjs SHIPSHAPE_BIN [N=1000] [RUNS=5]');
  process.exit(2);
}
const N = Number(nArg || 1000);
const RUNS = Number(runsArg || 5);
const REPOS = 10;
const work = mkdtempSync(join(tmpdir(), 'console-perf-'));
const children = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sha = (b) => 'sha256:' + createHash('sha256').update(b).digest('hex');

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

async function waitHttp(url) {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(url)).status < 500) return;
    } catch {
      /* not up yet */
    }
    await sleep(100);
  }
  throw new Error(`${url} did not answer`);
}

function start(cmd, args, log) {
  const out = [];
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: 'warn' } });
  p.stdout.on('data', (d) => out.push(d));
  p.stderr.on('data', (d) => out.push(d));
  p.on('exit', () => writeFileSync(join(work, log), Buffer.concat(out)));
  children.push(p);
  return p;
}

// ---- the registry and its N images ----
async function seedRegistry(reg) {
  const dir = join(work, 'layer');
  execFileSync('mkdir', ['-p', join(dir, 'seed')]);
  writeFileSync(join(dir, 'seed', 'README'), 'console perf image\n');
  const tar = execFileSync('tar', ['-C', dir, '-cf', '-', 'seed'], { maxBuffer: 1 << 20 });
  const diffId = sha(tar);
  const layer = gzipSync(tar);
  const layerDigest = sha(layer);
  const put = async (repo, digest, body) => {
    const head = await fetch(`http://${reg}/v2/${repo}/blobs/${digest}`, { method: 'HEAD' });
    if (head.status === 200) return;
    const start = await fetch(`http://${reg}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    if (start.status !== 202) throw new Error(`upload start: ${start.status}`);
    const loc = new URL(start.headers.get('location'), `http://${reg}`);
    loc.searchParams.set('digest', digest);
    const done = await fetch(loc, { method: 'PUT', body, headers: { 'Content-Type': 'application/octet-stream' } });
    if (done.status !== 201) throw new Error(`blob put: ${done.status} ${await done.text()}`);
  };
  const one = async (i) => {
    const repo = `perf/app-${i % REPOS}`;
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        created: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
        config: { Env: [`PERF_IMAGE=${i}`] },
        rootfs: { type: 'layers', diff_ids: [diffId] },
        history: [{ created_by: `perf image ${i}` }],
      }),
    );
    await put(repo, layerDigest, layer);
    await put(repo, sha(config), config);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha(config) },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: layer.length, digest: layerDigest }],
    });
    const r = await fetch(`http://${reg}/v2/${repo}/manifests/t${i}`, {
      method: 'PUT',
      body: manifest,
      headers: { 'Content-Type': 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    if (r.status !== 201) throw new Error(`manifest put: ${r.status} ${await r.text()}`);
  };
  for (let i = 0; i < N; i += 16) await Promise.all(Array.from({ length: Math.min(16, N - i) }, (_, k) => one(i + k)));
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

let browser;
try {
  const rport = await freePort();
  const reg = `127.0.0.1:${rport}`;
  writeFileSync(
    join(work, 'registry.yml'),
    `version: 0.1\nlog: {level: error}\nstorage: {filesystem: {rootdirectory: ${work}/registry-data}}\nhttp: {addr: ${reg}}\n`,
  );
  start('docker-registry', ['serve', join(work, 'registry.yml')], 'registry.log');
  await waitHttp(`http://${reg}/v2/`);
  let t = performance.now();
  await seedRegistry(reg);
  console.log(`seeded ${N} images in ${REPOS} repositories of ${reg} in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const data = join(work, 'data');
  start(bin, ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', data, '--rate-limit', '0', '--ip-rate-limit', '0', '--db-update-every', '0'], 'serve.log');
  await waitHttp(`${base}/healthz`);
  const cred = JSON.parse(readFileSync(join(data, 'credentials.json'), 'utf8'));
  const key = { secretId: cred.SecretId, secretKey: cred.SecretKey };
  const api = createClient(key, { host: `127.0.0.1:${port}`, fetch: (path, init) => fetch(base + path, init) });
  t = performance.now();
  const added = await api.call('AddAssetImageRegistryRegistryDetail', {
    Name: 'perf',
    Username: '',
    Password: '',
    Url: `http://${reg}`,
    RegistryType: 'other',
    NetType: 'private',
  });
  for (;;) {
    const s = await api.call('DescribeAssetImageRegistryAssetStatus', {});
    const rows = (await api.call('DescribeAssetImageRegistryList', { Limit: 0 })).TotalCount;
    const images = (await api.call('DescribeAssetImageList', { Limit: 0 })).TotalCount;
    if (s.Status === 'failed') throw new Error(`sync failed: ${s.Err}`);
    if (s.Status === 'success' && rows >= N && images >= N) {
      console.log(`synced: ${rows} registry rows, ${images} images in the inventory (${((performance.now() - t) / 1000).toFixed(1)} s)`);
      break;
    }
    await sleep(1000);
  }

  browser = await launchChromium();
  const ctx = await browser.newContext({ locale: 'en-US', viewport: { width: 1360, height: 900 } });
  const page = await ctx.newPage();
  let calls = [];
  page.on('request', (r) => r.method() === 'POST' && calls.push(r.headers()['x-tc-action']));

  await page.goto(`${base}/console/`);
  const nav = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0];
    return { domContentLoaded: n.domContentLoadedEventEnd, load: n.loadEventEnd };
  });
  await page.getByLabel('SecretId').fill(key.secretId);
  await page.getByLabel('SecretKey').fill(key.secretKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#severity-table').waitFor();
  const imageId = (await api.call('DescribeAssetImageList', { Limit: 1 })).List[0].ImageID;

  const pages = [
    ['Overview', '#/overview', '#severity-table'],
    ['Images', '#/images', '#images-table tbody tr'],
    ['Image detail', `#/image/${encodeURIComponent(imageId)}`, '#vul-table'],
    ['Registries', '#/registries', '#registries-table tbody tr'],
    ['Registry images', `#/registries/${added.RegistryId}`, '#registry-images-table tbody tr'],
    ['Compliance', '#/compliance/ASSET_IMAGE', '#assets-table tbody tr'],
    ['Compliance whitelist', '#/compliance/whitelist', '#whitelist-table'],
    ['Compliance periodic', '#/compliance/periodic', 'form.period'],
    ['Settings', '#/settings', '#s-period'],
  ];
  console.log(`\nfirst load of /console/: DOMContentLoaded ${nav.domContentLoaded.toFixed(0)} ms, load ${nav.load.toFixed(0)} ms`);
  console.log(`page load, hash change to data shown, ${RUNS} runs each, ${N} images (ms):`);
  console.log('page                   median     max   API calls');
  const results = {};
  for (const [name, hash, ready] of pages) {
    const times = [];
    let n = 0;
    for (let i = 0; i < RUNS; i++) {
      // From a page that shows nothing of the next one.
      await page.evaluate(() => (location.hash = '#/settings'));
      await page.locator('#s-period').waitFor();
      if (hash === '#/settings') {
        await page.evaluate(() => (location.hash = '#/overview'));
        await page.locator('#severity-table').waitFor();
      }
      await page.waitForTimeout(200);
      calls = [];
      const ms = await page.evaluate(
        ([hash, ready]) =>
          new Promise((resolve, reject) => {
            const t0 = performance.now();
            location.hash = hash;
            const until = t0 + 30_000;
            const check = () => {
              const shown = document.querySelector(ready) && !document.querySelector('main [aria-live=polite].muted');
              if (shown) resolve(performance.now() - t0);
              else if (performance.now() > until) reject(new Error(`${hash}: ${ready} not shown`));
              else requestAnimationFrame(check);
            };
            requestAnimationFrame(check);
          }),
        [hash, ready],
      ).catch(() => null);
      if (ms === null) break; // not a page of this build
      times.push(ms);
      n = calls.length;
    }
    if (!times.length) {
      console.log(`${name.padEnd(22)}    n/a (not shown within 30 s)`);
      continue;
    }
    results[name] = { median: median(times), max: Math.max(...times), calls: n };
    console.log(`${name.padEnd(22)} ${median(times).toFixed(0).padStart(6)}  ${Math.max(...times).toFixed(0).padStart(6)}   ${n}`);
  }
  writeFileSync(join(tmpdir(), 'console-perf.json'), JSON.stringify({ images: N, runs: RUNS, firstLoad: nav, pages: results }, null, 2));
} catch (e) {
  console.error(e && e.stack ? e.stack : e);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  for (const c of children) c.kill('SIGTERM');
  await sleep(500);
  rmSync(work, { recursive: true, force: true });
}
