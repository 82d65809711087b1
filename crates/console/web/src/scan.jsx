// The scan dialog (scanners, Start) and the progress panel (percent, images done, time left, Stop),
// shared by local images (CreateAssetImageScanTask / DescribeAssetImageScanStatus /
// ModifyAssetImageScanStop) and registry images (the registry task actions): the caller says which.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ErrorText, Modal, useCtx } from './ui.jsx';

const POLL_MS = 1000;

/** The status and stop actions of each task family. */
export const LOCAL_SCAN = {
  status: 'DescribeAssetImageScanStatus',
  stop: 'ModifyAssetImageScanStop',
  left: (r) => r.LeftSeconds,
};
export const REGISTRY_SCAN = {
  status: 'DescribeAssetImageRegistryScanStatusOneKey',
  stop: 'ModifyAssetImageRegistryScanStopOneKey',
  left: (r) => r.ScanRemainTime,
};

/** Registry actions name the scanners in `ScanType`. */
export const scanTypes = (s) => [s.ScanVul && 'CVE', s.ScanVirus && 'VIRUS', s.ScanRisk && 'RISK'].filter(Boolean);

/**
 * `images` = [{ id, label }] (shown; `title` replaces "Scan N image(s)"); `start(scanners)` sends the one create request and resolves
 * to the task id.
 */
export function ScanDialog({ images, title, start, onClose, onStarted }) {
  const { t } = useCtx();
  const [scanners, setScanners] = useState({ ScanVul: true, ScanVirus: true, ScanRisk: true });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const none = !scanners.ScanVul && !scanners.ScanVirus && !scanners.ScanRisk;
  const submit = async (e) => {
    e.preventDefault();
    if (busy || none) return;
    setBusy(true);
    setError(null);
    try {
      // Sent once; a failure is shown, never retried behind the user's back.
      onStarted(await start(scanners));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  const box = (key, label) => (
    <label class="check">
      <input type="checkbox" checked={scanners[key]} onChange={(e) => setScanners({ ...scanners, [key]: e.currentTarget.checked })} />
      {label}
    </label>
  );
  return (
    <Modal id="scan-dialog" title={title || t('scan.dialog', { n: images.length })} onClose={onClose}>
      <form onSubmit={submit}>
        <ul class="chosen">
          {images.slice(0, 8).map((i) => (
            <li class="mono">{i.label}</li>
          ))}
          {images.length > 8 ? <li>… +{images.length - 8}</li> : null}
        </ul>
        <fieldset>
          <legend>{t('scan.scanners')}</legend>
          {box('ScanVul', t('scan.vul'))}
          {box('ScanVirus', t('scan.virus'))}
          {box('ScanRisk', t('scan.risk'))}
        </fieldset>
        {none ? <p class="muted">{t('scan.pickOne')}</p> : null}
        <ErrorText error={error} />
        <div class="buttons">
          <button type="button" onClick={onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" class="primary" disabled={busy || none}>
            {t('scan.start')}
          </button>
        </div>
      </form>
    </Modal>
  );
}

/**
 * Polls the task until END (one request in flight at a time), then keeps the final state. Callers
 * key it by the task id, so a new task never shows the last one's state.
 */
export function ScanProgress({ taskId, family = LOCAL_SCAN, onEnd }) {
  const { t, call } = useCtx();
  const [s, setS] = useState(null);
  const [error, setError] = useState(null);
  const [stopping, setStopping] = useState(false);
  const onEndRef = useRef(onEnd);
  onEndRef.current = onEnd;
  useEffect(() => {
    let live = true;
    let timer = null;
    const tick = async () => {
      try {
        const r = await call(family.status, { TaskID: taskId });
        if (!live) return;
        setS(r);
        setError(null);
        if (r.Status === 'END') {
          onEndRef.current?.();
          return;
        }
      } catch (e) {
        if (!live) return;
        setError(e);
      }
      timer = setTimeout(tick, POLL_MS);
    };
    tick();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [taskId]);
  const stop = async () => {
    setStopping(true);
    try {
      await call(family.stop, { TaskID: taskId });
    } catch (e) {
      setError(e);
      setStopping(false);
    }
  };
  const pct = s ? s.Schedule : 0;
  const ended = s && s.Status === 'END';
  const left = s ? family.left(s) : 0;
  return (
    <section class="progress-panel" aria-labelledby="progress-title" id="scan-progress">
      <h2 id="progress-title">
        {t('scan.task', { id: taskId })} —{' '}
        <span id="scan-state" role="status">{ended ? (stopping ? t('scan.stopped') : t('scan.finished')) : t('scan.running')}</span>
      </h2>
      <progress id="scan-progress-bar" max="100" value={pct} aria-label={t('scan.progress')} />
      <p id="scan-progress-text">
        {s ? t('scan.detail', { pct, done: s.ImageScanCnt, total: s.ImageTotal }) : t('common.loading')}
        {s && !ended && left > 0 ? ` · ${t('scan.left', { s: left })}` : ''}
      </p>
      <ErrorText error={error} />
      {!ended ? (
        <button type="button" onClick={stop} disabled={stopping}>
          {t('scan.stop')}
        </button>
      ) : null}
    </section>
  );
}
