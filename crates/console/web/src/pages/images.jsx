// Images: DescribeAssetImageList with filters, sort and paging; Scan / Scan selected open the
// scanner dialog (CreateAssetImageScanTask); the running task's progress is polled from
// DescribeAssetImageScanStatus, one request at a time, and Stop is ModifyAssetImageScanStop.
import { useEffect, useState } from 'preact/hooks';
import { ErrorText, ListEnd, Loading, SortTh, TableWrap, fmtSize, fmtTime, shortId, useAsync, useCtx } from '../ui.jsx';
import { ScanDialog, ScanProgress } from '../scan.jsx';

const STATUSES = ['NOT_SCAN', 'SCANNING', 'SCANNED', 'SCAN_ERR'];
const RISKS = ['CriticalLevelVul', 'HighLevelVul', 'MediumLevelVul', 'LowLevelVul', 'VirusCnt', 'RiskCnt'];

export function imageListParams(q) {
  const filters = [];
  if (q.name) filters.push({ Name: 'ImageName', Values: [q.name] });
  if (q.status) filters.push({ Name: 'ScanStatus', Values: [q.status] });
  if (q.risk) filters.push({ Name: 'SecurityRisk', Values: [q.risk] });
  const p = { Limit: q.limit, Offset: q.offset };
  if (filters.length) p.Filters = filters;
  if (q.by) Object.assign(p, { By: q.by, Order: q.order });
  return p;
}

const imageLabel = (img) => img.ImageName || shortId(img.ImageID);

export function Images() {
  const { t, call } = useCtx();
  const [q, setQ] = useState({ name: '', status: '', risk: '', by: '', order: 'ASC', offset: 0, limit: 20 });
  const [nameInput, setNameInput] = useState('');
  const [selected, setSelected] = useState(() => new Map()); // ImageID → label
  const [dialog, setDialog] = useState(null); // [{ id, label }]
  const [taskId, setTaskId] = useState(null);
  const list = useAsync(() => call('DescribeAssetImageList', imageListParams(q)), JSON.stringify(q));

  // A task started elsewhere (another tab, the SDK, the schedule) that is still running.
  useEffect(() => {
    call('DescribeAssetImageScanTask', {}).then(
      (r) => r.Status === 'SCANNING' && setTaskId((cur) => cur || r.TaskID),
      () => {},
    );
  }, []);

  const rows = list.data?.List || [];
  const set = (patch) => setQ((cur) => ({ ...cur, ...patch }));
  const allOnPage = rows.length > 0 && rows.every((r) => selected.has(r.ImageID));
  const toggle = (img) =>
    setSelected((cur) => {
      const m = new Map(cur);
      m.has(img.ImageID) ? m.delete(img.ImageID) : m.set(img.ImageID, imageLabel(img));
      return m;
    });
  const toggleAll = () =>
    setSelected((cur) => {
      const m = new Map(cur);
      for (const r of rows) allOnPage ? m.delete(r.ImageID) : m.set(r.ImageID, imageLabel(r));
      return m;
    });

  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>{t('images.title')}</h1>

      <form
        class="filters"
        role="search"
        aria-label={t('images.filters')}
        onSubmit={(e) => {
          e.preventDefault();
          set({ name: nameInput.trim(), offset: 0 });
        }}
      >
        <div class="field">
          <label for="f-name">{t('images.name')}</label>
          <input id="f-name" type="search" value={nameInput} onInput={(e) => setNameInput(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="f-status">{t('images.status')}</label>
          <select id="f-status" value={q.status} onChange={(e) => set({ status: e.currentTarget.value, offset: 0 })}>
            <option value="">{t('common.all')}</option>
            {STATUSES.map((s) => (
              <option value={s}>{t(`status.${s}`)}</option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-risk">{t('images.risk')}</label>
          <select id="f-risk" value={q.risk} onChange={(e) => set({ risk: e.currentTarget.value, offset: 0 })}>
            <option value="">{t('common.all')}</option>
            {RISKS.map((s) => (
              <option value={s}>{t(`risk.${s}`)}</option>
            ))}
          </select>
        </div>
        <button type="submit">{t('common.search')}</button>
        <button type="button" onClick={list.reload}>
          {t('common.refresh')}
        </button>
        <button
          type="button"
          class="primary"
          id="scan-selected"
          disabled={selected.size === 0}
          onClick={() => setDialog([...selected].map(([id, label]) => ({ id, label })))}
        >
          {t('images.scanSelected', { n: selected.size })}
        </button>
      </form>

      {taskId ? <ScanProgress key={taskId} taskId={taskId} onEnd={list.reload} /> : null}

      <ErrorText error={list.error} />
      <Loading on={list.loading} />
      <TableWrap label={t('images.title')}>
        <table id="images-table" aria-busy={list.loading ? 'true' : 'false'}>
          <caption class="sr-only">{t('images.title')}</caption>
          <thead>
            <tr>
              <th scope="col">
                <input type="checkbox" aria-label={t('images.selectAll')} checked={allOnPage} onChange={toggleAll} />
              </th>
              <SortTh label={t('images.col.name')} field="ImageName" sort={q} onSort={(s) => set({ ...s, offset: 0 })} />
              <th scope="col">{t('images.col.os')}</th>
              <SortTh label={t('images.col.size')} field="Size" sort={q} onSort={(s) => set({ ...s, offset: 0 })} />
              <SortTh label={t('images.col.created')} field="CreateTime" sort={q} onSort={(s) => set({ ...s, offset: 0 })} />
              <th scope="col">{t('images.col.status')}</th>
              <SortTh label={t('images.col.vuls')} field="VulCnt" sort={q} onSort={(s) => set({ ...s, offset: 0 })} />
              <SortTh label={t('images.col.virus')} field="VirusCnt" sort={q} onSort={(s) => set({ ...s, offset: 0 })} />
              <SortTh label={t('images.col.risk')} field="RiskCnt" sort={q} onSort={(s) => set({ ...s, offset: 0 })} />
              <SortTh label={t('images.col.scanTime')} field="ScanTime" sort={q} onSort={(s) => set({ ...s, offset: 0 })} />
              <th scope="col">{t('common.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((img) => (
              <tr data-image-id={img.ImageID}>
                <td>
                  <input
                    type="checkbox"
                    aria-label={t('images.selectOne', { name: imageLabel(img) })}
                    checked={selected.has(img.ImageID)}
                    onChange={() => toggle(img)}
                  />
                </td>
                <td>
                  <a class="image-link" href={`#/image/${encodeURIComponent(img.ImageID)}`}>
                    {imageLabel(img)}
                  </a>
                  <div class="id mono">{shortId(img.ImageID)}</div>
                </td>
                <td>{img.OsName}</td>
                <td class="num">{fmtSize(img.Size)}</td>
                <td class="time">{fmtTime(img.CreateTime)}</td>
                <td>
                  <span class={`status st-${img.ScanStatus}`}>{t(`status.${img.ScanStatus}`)}</span>
                </td>
                <td class="vulcounts">
                  <VulCounts img={img} />
                </td>
                <td class="num">{img.VirusCnt}</td>
                <td class="num">{img.RiskCnt}</td>
                <td class="time">{fmtTime(img.ScanTime)}</td>
                <td>
                  <button
                    type="button"
                    aria-label={t('images.scanOne', { name: imageLabel(img) })}
                    onClick={() => setDialog([{ id: img.ImageID, label: imageLabel(img) }])}
                  >
                    {t('images.scan')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      <ListEnd list={list} rows={rows} p={q} onChange={set} idPrefix="images" />

      {dialog ? (
        <ScanDialog
          images={dialog}
          start={async (scanners) => (await call('CreateAssetImageScanTask', { Images: dialog.map((i) => i.id), ...scanners })).TaskID}
          onClose={() => setDialog(null)}
          onStarted={(id) => {
            setDialog(null);
            setSelected(new Map());
            setTaskId(id);
            list.reload();
          }}
        />
      ) : null}
    </section>
  );
}

export function VulCounts({ img }) {
  const { t } = useCtx();
  const parts = [
    [4, img.CriticalLevelVulCnt],
    [3, img.HighLevelVulCnt],
    [2, img.MediumLevelVulCnt],
    [1, img.LowLevelVulCnt],
  ];
  return (
    <span class="counts">
      <span class="num total">{img.VulCnt}</span>
      {parts.map(([lvl, n]) =>
        n > 0 ? (
          <span class={`chip sev-${lvl}`} title={t(`sev.${lvl}`)}>
            <span class="sr-only">{t(`sev.${lvl}`)}: </span>
            {n}
          </span>
        ) : null,
      )}
    </span>
  );
}

