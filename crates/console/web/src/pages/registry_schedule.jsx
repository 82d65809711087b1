// Registries → Scan schedule: the account's scheduled registry scan
// (DescribeImageRegistryTimingScanTask / UpdateImageRegistryTimingScanTask). Update replaces the
// whole schedule, so what this form does not edit (Namespace, RegistryType, ExcludeImageAssetIds, the
// chosen images of scope 1) is sent back as read. The next slot is computed as the server's
// scheduler does (schedule.js, the same rule as the image scan schedule).
import { useEffect, useState } from 'preact/hooks';
import { fmtUtc, hhmm, nextScan } from '../schedule.js';
import { ErrorText, Loading, SaveButtons, ScheduleFields, useAction, useAsync, useCtx } from '../ui.jsx';

const KINDS = [
  ['CVE', 'scan.vul'],
  ['VIRUS', 'scan.virus'],
  ['RISK', 'scan.risk'],
];
// The API's scope numbers, in the order shown.
const SCOPES = [0, 2, 1];

function formOf(d) {
  const kinds = (d.ScanType || []).map((k) => k.toUpperCase());
  return {
    enable: d.Enable,
    ScanPeriod: d.ScanPeriod,
    ScanTime: hhmm(d.ScanTime),
    ScanEndTime: hhmm(d.ScanEndTime),
    kinds: { CVE: kinds.includes('CVE') || kinds.includes('VUL'), VIRUS: kinds.includes('VIRUS'), RISK: kinds.includes('RISK') },
    scope: d.ScanScope ?? (d.All ? 0 : 1),
    latest: d.Latest,
    running: !!d.ContainerRunning,
  };
}

export function RegistrySchedule() {
  const { t, call } = useCtx();
  const current = useAsync(() => call('DescribeImageRegistryTimingScanTask', {}), 'registry-schedule');
  const [f, setF] = useState(null);
  const [saved, setSaved] = useState(false);
  const { busy, error, run } = useAction();
  const d = current.data;
  useEffect(() => {
    if (d) setF(formOf(d));
  }, [d]);
  const set = (patch) => {
    setSaved(false);
    setF((x) => ({ ...x, ...patch }));
  };
  const chosen = d ? (d.Id || []).length + (d.Images || []).length : 0;
  const kinds = f ? KINDS.map(([k]) => k).filter((k) => f.kinds[k]) : [];
  const save = (e) => {
    e.preventDefault();
    const req = {
      Enable: f.enable,
      ScanPeriod: Number(f.ScanPeriod),
      ScanTime: f.ScanTime,
      ScanType: kinds,
      ScanScope: f.scope,
      // The chosen images belong to scope 1; another scope scans by its own rule.
      Id: f.scope === 1 ? d.Id || [] : [],
      Images: f.scope === 1 ? d.Images || [] : [], // ImageInfo as read is ImageInfo as sent
      Latest: f.latest,
      ContainerRunning: f.running,
      RegistryType: d.RegistryType || [],
      Namespace: d.Namespace || [],
      ExcludeImageAssetIds: d.ExcludeImageAssetIds || [],
    };
    if (f.ScanEndTime) req.ScanEndTime = f.ScanEndTime;
    run(async () => {
      await call('UpdateImageRegistryTimingScanTask', req);
      setSaved(true);
      current.reload();
    });
  };
  const next = d ? nextScan(d, Date.now()) : null;
  const filters = d ? [...(d.RegistryType || []), ...(d.Namespace || [])] : [];
  return (
    <section aria-labelledby="reg-schedule-title" class="panel">
      <h2 id="reg-schedule-title">{t('registries.scheduleTitle')}</h2>
      <ErrorText error={current.error} />
      <Loading on={current.loading && !f} />
      {f ? (
        <form onSubmit={save} class="settings" id="registry-schedule">
          <label class="check">
            <input type="checkbox" checked={f.enable} onChange={(e) => set({ enable: e.currentTarget.checked })} />
            {t('registries.scheduleEnable')}
          </label>
          <ScheduleFields id="rs" form={f} set={set} />
          <fieldset>
            <legend>{t('settings.scanners')}</legend>
            {KINDS.map(([k, label]) => (
              <label class="check">
                <input type="checkbox" checked={f.kinds[k]} onChange={(e) => set({ kinds: { ...f.kinds, [k]: e.currentTarget.checked } })} />
                {t(label)}
              </label>
            ))}
          </fieldset>
          <fieldset>
            <legend>{t('registries.scheduleScope')}</legend>
            {SCOPES.map((n) => (
              <label class="check">
                <input type="radio" name="rs-scope" value={n} checked={f.scope === n} disabled={n === 1 && chosen === 0} onChange={() => set({ scope: n })} />
                {t(`registries.scope.${n}`, { n: chosen })}
              </label>
            ))}
            <label class="check">
              <input type="checkbox" checked={f.latest} onChange={(e) => set({ latest: e.currentTarget.checked })} />
              {t('registries.scheduleLatest')}
            </label>
            <label class="check">
              <input type="checkbox" checked={f.running} onChange={(e) => set({ running: e.currentTarget.checked })} />
              {t('registries.scheduleRunning')}
            </label>
            {filters.length ? <p class="muted">{t('registries.scheduleFilters', { what: filters.join(', ') })}</p> : null}
          </fieldset>
          <dl class="facts">
            <dt>{t('registries.scheduleNext')}</dt>
            <dd id="rs-next">{!next ? t('overview.scheduleOff') : next.due ? t('overview.scheduleDue') : `${fmtUtc(next.at)} UTC`}</dd>
            <dt>{t('settings.last')}</dt>
            <dd>{d.LastScanTime || '—'}</dd>
            <dt>{t('settings.result')}</dt>
            <dd>{d.ScanResult || '—'}</dd>
          </dl>
          {kinds.length === 0 ? <p class="error">{t('registries.scheduleNoScanner')}</p> : null}
          <ErrorText error={error} />
          <SaveButtons busy={busy} saved={saved} disabled={kinds.length === 0} />
        </form>
      ) : null}
    </section>
  );
}
