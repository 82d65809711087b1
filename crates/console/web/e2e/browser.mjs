// What the browser scripts of e2e/ share: Debian's Chromium launched for this sandbox, and signing in.
import { chromium } from 'playwright-core';

// Debian's Chromium as root in this sandbox: these flags (the machine notes) keep it from dialling
// Google's services, which the closed network refuses. Playwright gives each launch a new empty
// profile directory.
export const launchChromium = () =>
  chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    chromiumSandbox: false,
    args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });

/** Opens BASE/console/ and signs in with { secretId, secretKey }; resolves once the Overview shows. */
export async function signIn(page, base, key) {
  await page.goto(`${base}/console/`);
  await page.getByLabel('SecretId').fill(key.secretId);
  await page.getByLabel('SecretKey').fill(key.secretKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#severity-table').waitFor();
}
