// Settings: the scheduled image scan (DescribeAssetImageScanSetting / CreateAssetImageScanSetting;
// Create replaces the whole setting, so the fields this form does not show are sent back as read).
// API keys: the TCSS API has no action that lists or creates keys (none of the actions in
// ../shared/spec/actions.md does), and the console uses no other API, so it shows the key this tab
// signs with (SecretId masked) and the server commands that list, create and rotate keys.
import { useEffect, useState } from 'preact/hooks';
import { hhmm } from '../schedule.js';
import { ErrorText, Loading, Prose, SaveButtons, ScheduleFields, useAsync, useCtx } from '../ui.jsx';

/** `AKIDabcd…wxyz`: enough to tell keys apart, not the whole id. */
export const maskId = (id) => (id.length <= 12 ? `${id.slice(0, 2)}…` : `${id.slice(0, 8)}…${id.slice(-4)}`);

export function Settings() {
  const { t, call, secretId } = useCtx();
  const current = useAsync(() => call('DescribeAssetImageScanSetting', {}), 'setting');
  const [form, setForm] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (current.data) setForm({ ...current.data, ScanTime: hhmm(current.data.ScanTime), ScanEndTime: hhmm(current.data.ScanEndTime) });
  }, [current.data]);

  const set = (patch) => {
    setSaved(false);
    setForm((f) => ({ ...f, ...patch }));
  };
  const save = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setSaved(false);
    const f = form;
    const req = {
      Enable: f.Enable,
      ScanTime: f.ScanTime,
      ScanPeriod: Number(f.ScanPeriod),
      ScanVirus: f.ScanVirus,
      ScanRisk: f.ScanRisk,
      ScanVul: f.ScanVul,
      All: f.All,
      Images: f.Images || [],
      ContainerRunning: f.ContainerRunning,
      ScanScope: f.ScanScope ?? 0,
      ExcludeImages: f.ExcludeImages || [],
      ClusterIDs: f.ClusterIDs || [],
    };
    if (f.ScanEndTime) req.ScanEndTime = f.ScanEndTime;
    try {
      await call('CreateAssetImageScanSetting', req);
      setSaved(true);
      current.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const check = (key, label) => (
    <label class="check">
      <input type="checkbox" name={key} checked={!!form[key]} onChange={(e) => set({ [key]: e.currentTarget.checked })} />
      {label}
    </label>
  );

  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>{t('settings.title')}</h1>
      <section aria-labelledby="schedule-title" class="panel">
        <h2 id="schedule-title">{t('settings.schedule')}</h2>
        <ErrorText error={current.error} />
        <Loading on={current.loading && !form} />
        {form ? (
          <form onSubmit={save} class="settings">
            {check('Enable', t('settings.enable'))}
            <ScheduleFields id="s" form={form} set={set} />
            <fieldset>
              <legend>{t('settings.scanners')}</legend>
              {check('ScanVul', t('scan.vul'))}
              {check('ScanVirus', t('scan.virus'))}
              {check('ScanRisk', t('scan.risk'))}
            </fieldset>
            <fieldset>
              <legend>{t('settings.scope')}</legend>
              {check('All', t('settings.all'))}
              {check('ContainerRunning', t('settings.running'))}
            </fieldset>
            <dl class="facts">
              <dt>{t('settings.last')}</dt>
              <dd>{current.data?.LastScanTime || '—'}</dd>
              <dt>{t('settings.result')}</dt>
              <dd>{current.data?.ScanResult || '—'}</dd>
            </dl>
            <ErrorText error={error} />
            <SaveButtons busy={busy} saved={saved} />
          </form>
        ) : null}
      </section>
      <section aria-labelledby="keys-title" class="panel">
        <h2 id="keys-title">{t('settings.keys')}</h2>
        <dl class="facts">
          <dt>{t('settings.signedInAs')}</dt>
          <dd class="mono" id="signed-in-key">{maskId(secretId || '')}</dd>
        </dl>
        <p>
          <Prose text={t('settings.keysHow')} />
        </p>
        <pre class="commands">{'shipshape keys list\nshipshape keys create --app-id APPID\nshipshape keys rotate SECRET_ID\nshipshape keys disable SECRET_ID'}</pre>
        <p class="muted">
          <Prose text={t('settings.keysNote')} />
        </p>
      </section>
    </section>
  );
}
