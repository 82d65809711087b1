// The Overview's advisory data card in Chromium, for tests/e2e/test_console.py:
//
//   node e2e/advisory.mjs URL KEYFILE REPORT [SCREENSHOT]
//
// Signs in, reads the card (#advisory-age: its state, text and whether it is styled as a warning),
// then again in a page whose requests to /metrics the browser itself refuses (the card must say
// "unknown", not guess). Writes { shown, blocked } as JSON; the test compares it with /metrics.
import { readFileSync, writeFileSync } from 'node:fs';
import { launchChromium, signIn } from './browser.mjs';

const [url, keyFile, reportPath, shotPath] = process.argv.slice(2);
const k = JSON.parse(readFileSync(keyFile, 'utf8'));
const key = { secretId: k.SecretId, secretKey: k.SecretKey };
const browser = await launchChromium();
const report = { consoleErrors: [] };

async function card(block) {
  const ctx = await browser.newContext({ locale: 'en-US', viewport: { width: 1360, height: 900 }, colorScheme: 'light' });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => report.consoleErrors.push(String(e)));
  if (block) await page.route('**/metrics', (r) => r.abort('connectionrefused'));
  else page.on('console', (m) => m.type() === 'error' && report.consoleErrors.push(m.text()));
  await signIn(page, url, key);
  const c = page.locator('#advisory-age');
  await c.waitFor();
  const out = await c.evaluate((el) => ({
    state: el.dataset.state,
    warn: el.classList.contains('warn'),
    label: el.querySelector('dt').innerText,
    value: el.querySelector('.phrase').innerText,
    sub: el.querySelector('.sub')?.innerText ?? '',
    border: getComputedStyle(el).borderTopColor,
  }));
  if (shotPath && !block) await c.screenshot({ path: shotPath });
  await ctx.close();
  return out;
}

try {
  report.shown = await card(false);
  report.blocked = await card(true);
  report.ok = true;
} catch (e) {
  report.ok = false;
  report.error = String(e && e.stack ? e.stack : e);
  console.error(report.error);
} finally {
  await browser.close();
  writeFileSync(reportPath, JSON.stringify(report, null, 2));
}
process.exit(report.ok ? 0 : 1);
