// The next scheduled image scan as the server computes it (crates/scan/src/schedule.rs): ScanTime
// (UTC) every ScanPeriod days, the next slot being the last run's day at ScanTime plus the period.
// The API does not expose when the setting was saved, which the server's first slot counts from,
// so before any scheduled run this shows the next ScanTime from now: the same slot unless the
// setting was saved earlier today after its ScanTime.

const DAY = 86_400_000;

/** Unix ms of `YYYY-MM-DD HH:MM[:SS]` read as UTC, or NaN. */
export function parseUtc(s) {
  const m = /^(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d)(?::(\d\d))?/.exec(s || '');
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0)) : NaN;
}

/** `{ at: ms }` of the next slot, `{ due: true }` when one is due now, or null when off. */
export function nextScan(setting, nowMs) {
  if (!setting || !setting.Enable) return null;
  const [h, mi, se] = (setting.ScanTime || '00:00').split(':').map(Number);
  const timeOfDay = ((h || 0) * 3600 + (mi || 0) * 60 + (se || 0)) * 1000;
  const atTime = (ms) => Math.floor(ms / DAY) * DAY + timeOfDay;
  const period = Math.max(1, Number(setting.ScanPeriod) || 1) * DAY;
  const last = parseUtc(setting.LastScanTime);
  if (!Number.isNaN(last)) {
    const next = atTime(last) + period;
    return next > nowMs ? { at: next } : { due: true };
  }
  const today = atTime(nowMs);
  return { at: today >= nowMs ? today : today + DAY };
}

/** ms → `YYYY-MM-DD HH:MM` UTC. */
export const fmtUtc = (ms) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');

/** `HH:MM[:SS]` → `HH:MM`, the value of a time input. */
export const hhmm = (s) => (s || '').slice(0, 5);
