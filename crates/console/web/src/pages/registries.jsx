// Registries: the registry list (DescribeAssetImageRegistryRegistryList) with each one's connection
// and sync status; add / edit (Add/UpdateAssetImageRegistryRegistryDetail, the form filled from
// DescribeAssetImageRegistryRegistryDetail; the stored password is never shown and an empty one is
// kept) and remove (RemoveAssetImageRegistryRegistryDetail); sync (SyncAssetImageRegistryAsset,
// polled with DescribeAssetImageRegistryAssetStatus); scan a registry (CreateAssetImageRegistryScanTask
// filtered by RegistryId), everything (CreateAssetImageRegistryScanTaskOneKey) or chosen images
// (the same, by row Id), with the registry task's progress and Stop; a registry's images
// (DescribeAssetImageRegistryList filtered by RegistryId), paged on the server. The scan schedule
// section is registry_schedule.jsx.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ErrorText, ListEnd, Loading, Modal, SubNav, TableWrap, Thead, fmtSize, fmtTime, shortId, useAsync, useCtx } from '../ui.jsx';
import { REGISTRY_SCAN, ScanDialog, ScanProgress, scanTypes } from '../scan.jsx';
import { VulCounts } from './images.jsx';
import { RegistrySchedule } from './registry_schedule.jsx';

const TYPES = ['harbor', 'quay', 'jfrog', 'gitlab', 'dockerhub', 'aws', 'azure', 'tcr', 'ccr', 'other-tcr', 'other'];
const SYNC_POLL_MS = 1000;
const MAX_SYNC_POLLS = 600;

const conn = (r) => (r.ConnDetectDetail && r.ConnDetectDetail[0]) || {};

const SECTIONS = ['list', 'schedule'];

/** `#/registries` (the list), `#/registries/ID` (a registry's images), `#/registries/schedule`. */
export function Registries({ id }) {
  const { t } = useCtx();
  const section = id === 'schedule' ? 'schedule' : 'list';
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>{t('registries.title')}</h1>
      <SubNav page="registries" sections={SECTIONS} current={section} />
      {section === 'schedule' ? <RegistrySchedule /> : <RegistryList id={id} />}
    </section>
  );
}

function RegistryList({ id }) {
  const { t, call } = useCtx();
  const [p, setP] = useState({ offset: 0, limit: 20 });
  const [form, setForm] = useState(null); // { registry?: row } while the add/edit dialog is open
  const [removing, setRemoving] = useState(null);
  const [scan, setScan] = useState(null); // { images: [{id,label}], start }
  const [taskId, setTaskId] = useState(null);
  const [syncing, setSyncing] = useState(false);
  const [syncState, setSyncState] = useState(null); // the last sync's end, shown apart from other notices
  const [scansEnded, setScansEnded] = useState(0);
  const [notice, setNotice] = useState(null);
  const [error, setError] = useState(null);
  const list = useAsync(() => call('DescribeAssetImageRegistryRegistryList', { Limit: p.limit, Offset: p.offset }), `${p.offset}/${p.limit}`);
  const rows = list.data?.List || [];
  const shown = id ? Number(id) : null;
  const shownRow = rows.find((r) => r.RegistryId === shown);

  // While a sync runs: reload the list each second until the account's syncs end.
  const polls = useRef(0);
  useEffect(() => {
    if (!syncing) return;
    let live = true;
    let timer = null;
    polls.current = 0;
    setSyncState(null);
    const tick = async () => {
      try {
        const s = await call('DescribeAssetImageRegistryAssetStatus', {});
        if (!live) return;
        if (s.Status !== 'doing' || ++polls.current >= MAX_SYNC_POLLS) {
          setSyncing(false);
          setSyncState(s.Status === 'failed' ? t('registries.syncFailed', { err: s.Err }) : t('registries.synced'));
          list.reload();
          return;
        }
      } catch (e) {
        if (!live) return;
        setError(e);
        setSyncing(false);
        return;
      }
      timer = setTimeout(tick, SYNC_POLL_MS);
    };
    tick();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [syncing]);

  const act = async (fn) => {
    setError(null);
    setNotice(null);
    try {
      await fn();
    } catch (e) {
      setError(e);
    }
  };
  const sync = (ids) =>
    act(async () => {
      setSyncState(null);
      await call('SyncAssetImageRegistryAsset', ids ? { RegistryIds: ids } : { All: true });
      setSyncing(true);
    });
  const scanRegistry = (r) =>
    setScan({
      images: [{ id: r.RegistryId, label: r.Name }],
      title: t('registries.scanTitle', { name: r.Name }),
      start: async (s) =>
        (await call('CreateAssetImageRegistryScanTask', { Filters: [{ Name: 'RegistryId', Values: [String(r.RegistryId)], ExactMatch: true }], ScanType: scanTypes(s) }))
          .TaskID,
    });
  const scanAll = () =>
    setScan({
      images: [{ id: 0, label: t('registries.allImages') }],
      title: t('registries.scanAllTitle'),
      start: async (s) => (await call('CreateAssetImageRegistryScanTaskOneKey', { ScanScope: 0, ScanType: scanTypes(s) })).TaskID,
    });

  return (
    <>
      <div class="filters">
        <button type="button" class="primary" onClick={() => setForm({})}>
          {t('registries.add')}
        </button>
        <button type="button" onClick={() => sync(null)} disabled={syncing}>
          {t('registries.syncAll')}
        </button>
        <button type="button" onClick={scanAll}>
          {t('registries.scanAll')}
        </button>
        <button type="button" onClick={list.reload}>
          {t('common.refresh')}
        </button>
      </div>
      <p role="status" class="notice" id="registries-notice">{notice}</p>
      <p role="status" class="notice" id="sync-state">{syncing ? t('registries.syncing') : syncState}</p>
      <ErrorText error={error || list.error} />
      {taskId ? (
        <ScanProgress
          key={taskId}
          taskId={taskId}
          family={REGISTRY_SCAN}
          onEnd={() => {
            list.reload();
            setScansEnded((n) => n + 1);
          }}
        />
      ) : null}
      <Loading on={list.loading && !list.data} />
      <TableWrap label={t('registries.title')}>
        <table id="registries-table">
          <caption class="sr-only">{t('registries.title')}</caption>
          <Thead
            cols={[
              t('registries.name'),
              t('registries.url'),
              t('registries.type'),
              t('registries.connection'),
              t('registries.sync'),
              t('registries.lastSync'),
              t('common.actions'),
            ]}
          />
          <tbody>
            {rows.map((r) => {
              const c = conn(r);
              const fileBacked = r.Name.startsWith('file:');
              return (
                <tr data-registry-id={r.RegistryId}>
                  <td>
                    <a href={`#/registries/${r.RegistryId}`} class="registry-link" aria-current={shown === r.RegistryId ? 'true' : undefined}>
                      {r.Name}
                    </a>
                  </td>
                  <td class="mono">{r.Url}</td>
                  <td>{r.RegistryType}</td>
                  <td class="conn">
                    <span class={`badge conn-${c.ConnDetectStatus || 'none'}`}>{t(`conn.${c.ConnDetectStatus || 'status_detecting'}`)}</span>
                    {c.FailReason ? (
                      <details>
                        <summary>{t('registries.why')}</summary>
                        <p class="muted">{c.FailReason}</p>
                        {c.Solution ? <p>{c.Solution}</p> : null}
                      </details>
                    ) : null}
                  </td>
                  <td class="sync-status">
                    {t(`syncStatus.${r.SyncStatus || 'none'}`)}
                    {r.SyncFailReason ? <div class="error">{r.SyncFailReason}</div> : null}
                  </td>
                  <td class="time">{fmtTime(r.LatestSyncTime) || '—'}</td>
                  <td>
                    <div class="actions">
                      <button type="button" aria-label={t('registries.syncOne', { name: r.Name })} disabled={syncing} onClick={() => sync([r.RegistryId])}>
                        {t('registries.syncShort')}
                      </button>
                      <button type="button" aria-label={t('registries.scanOne', { name: r.Name })} onClick={() => scanRegistry(r)}>
                        {t('images.scan')}
                      </button>
                      <button type="button" aria-label={t('registries.editOne', { name: r.Name })} disabled={fileBacked} onClick={() => setForm({ registry: r })}>
                        {t('common.edit')}
                      </button>
                      <button type="button" aria-label={t('registries.removeOne', { name: r.Name })} disabled={fileBacked} onClick={() => setRemoving(r)}>
                        {t('common.remove')}
                      </button>
                    </div>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </TableWrap>
      <ListEnd list={list} rows={rows} p={p} onChange={setP} idPrefix="registries" empty={t('registries.none')} />

      {shown ? (
        <RegistryImages
          registryId={shown}
          name={shownRow?.Name || String(shown)}
          onScan={(images) =>
            setScan({
              images,
              start: async (s) =>
                (await call('CreateAssetImageRegistryScanTaskOneKey', { ScanScope: 1, Id: images.map((i) => i.id), ScanType: scanTypes(s) })).TaskID,
            })
          }
          version={`${scansEnded}/${list.data?.List?.map((r) => r.LatestSyncTime).join()}`}
        />
      ) : null}

      {form ? (
        <RegistryForm
          registry={form.registry}
          onClose={() => setForm(null)}
          onSaved={(msg) => {
            setForm(null);
            setNotice(msg);
            setError(null);
            list.reload();
            setSyncing(true);
          }}
        />
      ) : null}
      {removing ? (
        <Modal id="remove-dialog" title={t('registries.removeTitle', { name: removing.Name })} onClose={() => setRemoving(null)}>
          <p>{t('registries.removeNote')}</p>
          <div class="buttons">
            <button type="button" onClick={() => setRemoving(null)}>
              {t('common.cancel')}
            </button>
            <button
              type="button"
              class="primary"
              onClick={() =>
                act(async () => {
                  const r = removing;
                  setRemoving(null);
                  await call('RemoveAssetImageRegistryRegistryDetail', { RegistryId: r.RegistryId });
                  setNotice(t('registries.removed', { name: r.Name }));
                  if (shown === r.RegistryId) location.replace('#/registries');
                  list.reload();
                })
              }
            >
              {t('common.remove')}
            </button>
          </div>
        </Modal>
      ) : null}
      {scan ? (
        <ScanDialog
          images={scan.images}
          title={scan.title}
          start={scan.start}
          onClose={() => setScan(null)}
          onStarted={(id) => {
            setScan(null);
            setTaskId(id);
          }}
        />
      ) : null}
    </>
  );
}

function RegistryForm({ registry, onClose, onSaved }) {
  const { t, call } = useCtx();
  const editing = !!registry;
  const detail = useAsync(
    () => (editing ? call('DescribeAssetImageRegistryRegistryDetail', { RegistryId: registry.RegistryId }) : Promise.resolve(null)),
    editing ? registry.RegistryId : 'new',
  );
  const [f, setF] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  useEffect(() => {
    if (detail.loading) return;
    const d = detail.data;
    setF({
      Name: d?.Name ?? '',
      Url: d?.Url ?? '',
      RegistryType: d?.RegistryType ?? 'harbor',
      NetType: d?.NetType ?? 'private',
      Username: d?.Username ?? '',
      Password: '',
      Insecure: d ? d.Insecure === 1 : false,
      SyncMode: d?.SyncMode ?? 0,
      NeedScan: d?.NeedScan ?? false,
      SpeedLimit: d?.SpeedLimit ?? 0,
    });
  }, [detail.loading]);
  const set = (patch) => setF((x) => ({ ...x, ...patch }));
  const save = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const req = {
      Name: f.Name.trim(),
      Url: f.Url.trim(),
      RegistryType: f.RegistryType,
      NetType: f.NetType,
      Username: f.Username.trim(),
      Password: f.Password,
      Insecure: f.Insecure ? 1 : 0,
      SyncMode: Number(f.SyncMode),
      NeedScan: f.NeedScan,
      SpeedLimit: Number(f.SpeedLimit) || 0,
    };
    if (editing) req.RegistryId = registry.RegistryId;
    try {
      const r = await call(editing ? 'UpdateAssetImageRegistryRegistryDetail' : 'AddAssetImageRegistryRegistryDetail', req);
      if (r.NameRepeatErr) {
        setError({ message: r.NameRepeatErr, code: '' });
        setBusy(false);
        return;
      }
      onSaved(r.HealthCheckErr ? t('registries.savedConnFailed', { err: r.HealthCheckErr }) : t('registries.saved', { name: req.Name }));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  const field = (id, label, input, hint) => (
    <div class="field">
      <label for={id}>{label}</label>
      {input}
      {hint ? <span class="muted hint" id={`${id}-hint`}>{hint}</span> : null}
    </div>
  );
  return (
    <Modal id="registry-dialog" title={editing ? t('registries.editTitle', { name: registry.Name }) : t('registries.add')} onClose={onClose}>
      <ErrorText error={detail.error} />
      {f ? (
        <form onSubmit={save} class="registry-form">
          {field('r-name', t('registries.name'), <input id="r-name" required value={f.Name} onInput={(e) => set({ Name: e.currentTarget.value })} />)}
          {field(
            'r-url',
            t('registries.url'),
            <input id="r-url" required aria-describedby="r-url-hint" value={f.Url} onInput={(e) => set({ Url: e.currentTarget.value })} />,
            t('registries.urlHint'),
          )}
          {field(
            'r-type',
            t('registries.type'),
            <select id="r-type" value={f.RegistryType} onChange={(e) => set({ RegistryType: e.currentTarget.value })}>
              {TYPES.map((x) => (
                <option value={x}>{x}</option>
              ))}
            </select>,
          )}
          {field(
            'r-net',
            t('registries.netType'),
            <select id="r-net" value={f.NetType} onChange={(e) => set({ NetType: e.currentTarget.value })}>
              <option value="private">{t('registries.net.private')}</option>
              <option value="public">{t('registries.net.public')}</option>
            </select>,
          )}
          {field('r-user', t('registries.username'), <input id="r-user" autocomplete="off" value={f.Username} onInput={(e) => set({ Username: e.currentTarget.value })} />)}
          {field(
            'r-pass',
            t('registries.password'),
            <input id="r-pass" type="password" autocomplete="new-password" aria-describedby="r-pass-hint" value={f.Password} onInput={(e) => set({ Password: e.currentTarget.value })} />,
            editing ? t('registries.passwordKeep') : t('registries.passwordAnon'),
          )}
          {field(
            'r-sync',
            t('registries.syncMode'),
            <select id="r-sync" value={f.SyncMode} onChange={(e) => set({ SyncMode: Number(e.currentTarget.value) })}>
              <option value="0">{t('registries.syncMode.0')}</option>
              <option value="1">{t('registries.syncMode.1')}</option>
            </select>,
          )}
          {field(
            'r-speed',
            t('registries.speed'),
            <input id="r-speed" type="number" min="0" max="100000" value={f.SpeedLimit} onInput={(e) => set({ SpeedLimit: e.currentTarget.value })} />,
          )}
          <label class="check">
            <input type="checkbox" checked={f.Insecure} onChange={(e) => set({ Insecure: e.currentTarget.checked })} />
            {t('registries.insecure')}
          </label>
          <label class="check">
            <input type="checkbox" checked={f.NeedScan} onChange={(e) => set({ NeedScan: e.currentTarget.checked })} />
            {t('registries.needScan')}
          </label>
          <ErrorText error={error} />
          <div class="buttons">
            <button type="button" onClick={onClose}>
              {t('common.cancel')}
            </button>
            <button type="submit" class="primary" disabled={busy}>
              {t('common.save')}
            </button>
          </div>
        </form>
      ) : (
        <Loading on />
      )}
    </Modal>
  );
}

function RegistryImages({ registryId, name, onScan, version }) {
  const { t, call } = useCtx();
  const [p, setP] = useState({ offset: 0, limit: 20 });
  const [selected, setSelected] = useState(() => new Map());
  useEffect(() => {
    setP({ offset: 0, limit: 20 });
    setSelected(new Map());
  }, [registryId]);
  const list = useAsync(
    () =>
      call('DescribeAssetImageRegistryList', {
        Limit: p.limit,
        Offset: p.offset,
        Filters: [{ Name: 'RegistryId', Values: [String(registryId)], ExactMatch: true }],
      }),
    `${registryId}/${p.offset}/${p.limit}/${version}`,
  );
  const rows = list.data?.List || [];
  const label = (r) => `${r.ImageName}:${r.ImageTag}`;
  const toggle = (r) =>
    setSelected((cur) => {
      const m = new Map(cur);
      m.has(r.Id) ? m.delete(r.Id) : m.set(r.Id, label(r));
      return m;
    });
  return (
    <section aria-labelledby="reg-images-title" class="items">
      <h2 id="reg-images-title">{t('registries.imagesOf', { name })}</h2>
      <div class="filters">
        <button type="button" class="primary" id="scan-selected" disabled={selected.size === 0} onClick={() => onScan([...selected].map(([id, l]) => ({ id, label: l })))}>
          {t('images.scanSelected', { n: selected.size })}
        </button>
        <button type="button" onClick={list.reload}>
          {t('common.refresh')}
        </button>
      </div>
      <ErrorText error={list.error} />
      <Loading on={list.loading && !list.data} />
      <TableWrap label={t('registries.imagesOf', { name })}>
        <table id="registry-images-table" aria-busy={list.loading ? 'true' : 'false'}>
          <Thead
            cols={[
              <span class="sr-only">{t('registries.select')}</span>,
              t('registries.repository'),
              t('registries.tag'),
              t('images.col.size'),
              t('images.col.status'),
              t('images.col.vuls'),
              t('images.col.virus'),
              t('images.col.risk'),
              t('images.col.scanTime'),
            ]}
          />
          <tbody>
            {rows.map((r) => (
              <tr data-row-id={r.Id} data-image-id={r.ImageId}>
                <td>
                  <input type="checkbox" aria-label={t('images.selectOne', { name: label(r) })} checked={selected.has(r.Id)} onChange={() => toggle(r)} />
                </td>
                <td>
                  <a class="image-link" href={`#/image/${encodeURIComponent(r.ImageId)}`}>
                    {r.ImageName}
                  </a>
                  <div class="id mono">{shortId(r.ImageId)}</div>
                </td>
                <td class="mono tag">
                  {r.ImageTag}
                  {r.IsLatestImage ? <span class="badge latest">{t('registries.latest')}</span> : null}
                </td>
                <td class="num">{fmtSize(r.ImageSize)}</td>
                <td>
                  <span class={`status st-${r.ScanStatus}`}>{t(`status.${r.ScanStatus}`)}</span>
                </td>
                <td class="vulcounts">
                  <VulCounts img={r} />
                </td>
                <td class="num">{r.VirusCnt}</td>
                <td class="num">{r.RiskCnt}</td>
                <td class="time">{fmtTime(r.ScanTime)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      <ListEnd list={list} rows={rows} p={p} onChange={setP} idPrefix="reg-images" />
    </section>
  );
}
