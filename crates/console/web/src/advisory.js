// The advisory data's age for the Overview. No TCSS action reports it (the one that would,
// DescribeVulScanInfo, is not implemented), so the console reads the gauge
// `shipshape_advisory_data_age_seconds` from `GET /metrics` on the same origin: the public,
// unauthenticated Prometheus endpoint `serve` exposes anyway (crates/shipshape/src/probes.rs), read
// as is — not a second API, and nothing is sent but a plain GET (the CSP's connect-src 'self' covers it).

/** Older than this, the Overview warns. */
export const STALE_SECONDS = 2 * 86_400;

const GAUGE = /^shipshape_advisory_data_age_seconds(?:\{[^}]*\})?\s+(-?[0-9.]+(?:[eE][+-]?[0-9]+)?)\s*$/m;

/** The gauge's value from OpenMetrics text: seconds, -1 for no advisory data, or null when absent. */
export function parseAdvisoryAge(text) {
  const m = GAUGE.exec(text || '');
  if (!m) return null;
  const v = Number(m[1]);
  return Number.isFinite(v) ? v : null;
}

/**
 * `{ state, n, unit }`: state 'unknown' (no figure), 'none' (no advisory data), 'stale' (older than
 * STALE_SECONDS) or 'ok'; n and unit ('now' under a minute, else 'minutes' | 'hours' | 'days', whole
 * units, rounded down) for the last two.
 */
export function advisoryAge(seconds) {
  if (seconds == null) return { state: 'unknown' };
  if (seconds < 0) return { state: 'none' };
  const state = seconds > STALE_SECONDS ? 'stale' : 'ok';
  if (seconds < 60) return { state, n: 0, unit: 'now' };
  if (seconds < 3600) return { state, n: Math.floor(seconds / 60), unit: 'minutes' };
  if (seconds < 2 * 86_400) return { state, n: Math.floor(seconds / 3600), unit: 'hours' };
  return { state, n: Math.floor(seconds / 86_400), unit: 'days' };
}

/** Reads /metrics; null when it cannot be read (another path proxied away, a network error). */
export async function fetchAdvisoryAge(fetchImpl = (...a) => fetch(...a)) {
  try {
    const r = await fetchImpl('/metrics', { credentials: 'omit', cache: 'no-store' });
    return r.ok ? parseAdvisoryAge(await r.text()) : null;
  } catch {
    return null;
  }
}
