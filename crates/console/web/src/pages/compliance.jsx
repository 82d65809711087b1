// Compliance: asset types → assets (DescribeComplianceAssetList) → check items
// (DescribeComplianceAssetPolicyItemList). Re-check an asset (ScanComplianceAssets), the items
// that could not be checked (ScanComplianceScanFailedAssets) or one item
// (ScanComplianceAssetsByPolicyItem); the lists are then polled until the asset's check is done.
// An item is whitelisted on its asset (AddComplianceAssetPolicySetToWhitelist) or taken off
// (DeleteCompliancePolicyItemFromWhitelist). The Whitelist section lists every entry
// (DescribeComplianceWhitelistItemList), removes them and whitelists an item on all assets
// (AddCompliancePolicyItemToWhitelist); Periodic checks edits each asset type's periodic task
// (DescribeCompliancePeriodTaskList / ModifyCompliancePeriodTask).
import { useEffect, useState } from 'preact/hooks';
import { ErrorText, ListEnd, Loading, Pager, SubNav, TableWrap, Tabs, Thead, fmtTime, useAction, useAsync, useCtx } from '../ui.jsx';
import { ASSET_TYPES } from './overview.jsx';

const POLL_MS = 2000;
const MAX_POLLS = 150;

const assetLabel = (a) => a.AssetName || a.ImageTag || a.NodeName || String(a.CustomerAssetId);

const SECTIONS = ['assets', 'whitelist', 'periodic'];

export function Compliance({ type }) {
  const { t } = useCtx();
  const section = SECTIONS.includes(type) ? type : 'assets';
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>{t('compliance.title')}</h1>
      <SubNav page="compliance" sections={SECTIONS} current={section} />
      {section === 'whitelist' ? <Whitelist /> : section === 'periodic' ? <PeriodTasks /> : <Assets type={type} />}
    </section>
  );
}

function Assets({ type }) {
  const { t, call } = useCtx();
  const current = ASSET_TYPES.includes(type) ? type : 'ASSET_HOST';
  const [p, setP] = useState({ offset: 0, limit: 20 });
  const [open, setOpen] = useState(null); // the asset whose items are shown
  const [watch, setWatch] = useState(null); // { assetId, before, polls }
  const [notice, setNotice] = useState(null);
  const [error, setError] = useState(null);
  const list = useAsync(
    () => call('DescribeComplianceAssetList', { AssetTypeSet: [current], Limit: p.limit, Offset: p.offset }),
    `${current}/${p.offset}/${p.limit}`,
  );
  useEffect(() => {
    setOpen(null);
    setP({ offset: 0, limit: 20 });
  }, [current]);

  const rows = list.data?.AssetInfoList || [];
  // After a re-check: reload until the asset's check is no longer running and has a new time.
  useEffect(() => {
    if (!watch || list.loading) return;
    const row = rows.find((a) => a.CustomerAssetId === watch.assetId);
    const done = row && row.CheckStatus !== 'CHECK_RUNNING' && row.LastCheckTime !== watch.before;
    if (done || watch.polls >= MAX_POLLS) {
      setWatch(null);
      return;
    }
    const h = setTimeout(() => {
      setWatch((w) => w && { ...w, polls: w.polls + 1 });
      list.reload();
    }, POLL_MS);
    return () => clearTimeout(h);
  }, [watch, list.data, list.loading]);

  const start = async (action, params, asset) => {
    setError(null);
    setNotice(null);
    try {
      const r = await call(action, params);
      setNotice(t('compliance.recheckStarted', { id: r.TaskId }));
      setWatch({ assetId: asset.CustomerAssetId, before: asset.LastCheckTime, polls: 0 });
      list.reload();
    } catch (e) {
      setError(e);
    }
  };
  const recheck = (a) => start('ScanComplianceAssets', { CustomerAssetIdSet: [a.CustomerAssetId], AssetType: a.AssetType }, a);
  const recheckFailed = (a) =>
    start('ScanComplianceScanFailedAssets', { CustomerAssetIdSet: [a.CustomerAssetId], AssetType: a.AssetType }, a);
  const openRow = open && rows.find((a) => a.CustomerAssetId === open.CustomerAssetId);

  return (
    <>
      <Tabs
        label={t('compliance.types')}
        idPrefix="ctype"
        current={current}
        onSelect={(x) => location.replace(`#/compliance/${x}`)}
        tabs={ASSET_TYPES.map((x) => ({ id: x, label: t(`asset.${x}`) }))}
      >
        <p role="status" class="notice">{notice}</p>
        <ErrorText error={error || list.error} />
        <Loading on={list.loading && !list.data} />
        <TableWrap label={t(`asset.${current}`)}>
          <table id="assets-table">
            <caption class="sr-only">{t(`asset.${current}`)}</caption>
            <Thead
              cols={[
                t('compliance.asset'),
                t('compliance.node'),
                t('compliance.status'),
                t('compliance.result'),
                t('compliance.passed'),
                t('compliance.failed'),
                t('compliance.lastCheck'),
                t('common.actions'),
              ]}
            />
            <tbody>
              {rows.map((a) => (
                <tr data-asset-id={a.CustomerAssetId}>
                  <td class="mono">{assetLabel(a)}</td>
                  <td>{a.ImageTag || a.NodeName || a.HostIP}</td>
                  <td class="check-status">{t(`check.${a.CheckStatus}`)}</td>
                  <td>
                    <Result r={a.CheckResult} />
                  </td>
                  <td class="num">{a.PassedPolicyItemCount}</td>
                  <td class="num">{a.FailedPolicyItemCount}</td>
                  <td class="time">{fmtTime(a.LastCheckTime)}</td>
                  <td>
                    <div class="actions">
                    <button
                      type="button"
                      aria-label={t('compliance.showItems', { name: assetLabel(a) })}
                      aria-pressed={open?.CustomerAssetId === a.CustomerAssetId ? 'true' : 'false'}
                      onClick={() => setOpen(a)}
                    >
                      {t('compliance.items')}
                    </button>
                    <button
                      type="button"
                      aria-label={t('compliance.recheckAsset', { name: assetLabel(a) })}
                      disabled={watch?.assetId === a.CustomerAssetId}
                      onClick={() => recheck(a)}
                    >
                      {t('compliance.recheck')}
                    </button>
                    {a.CheckStatus === 'CHECK_FAILED' ? (
                      <button type="button" onClick={() => recheckFailed(a)}>
                        {t('compliance.recheckFailed')}
                      </button>
                    ) : null}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
        <ListEnd list={list} rows={rows} p={p} onChange={setP} idPrefix="assets" />
        {openRow ? (
          <Items
            asset={openRow}
            version={openRow.LastCheckTime + openRow.CheckStatus}
            onRecheck={(item) =>
              start(
                'ScanComplianceAssetsByPolicyItem',
                { CustomerPolicyItemId: item.CustomerPolicyItemId, CustomerAssetIdSet: [openRow.CustomerAssetId], AssetType: openRow.AssetType },
                openRow,
              )
            }
          />
        ) : null}
      </Tabs>
    </>
  );
}

function Result({ r }) {
  const { t } = useCtx();
  if (!r) return <span class="muted">—</span>;
  return <span class={`badge result ${r === 'RESULT_PASSED' ? 'pass' : 'fail'}`}>{t(`result.${r}`)}</span>;
}

const RISK_LEVELS = { RISK_CRITICAL: 4, RISK_HIGH: 3, RISK_MEDIUM: 2, RISK_LOW: 1 };

function RiskLevel({ level }) {
  const { t } = useCtx();
  const n = RISK_LEVELS[level];
  if (n) return <span class={`badge sev-${n}`}>{t(`sev.${n}`)}</span>;
  return <span class="badge sev-unscanned">{level === 'RISK_NOTICE' ? t('sev.notice') : level}</span>;
}

function Items({ asset, version, onRecheck }) {
  const { t, call } = useCtx();
  const [p, setP] = useState({ offset: 0, limit: 50 });
  const { busy, error, run } = useAction();
  const items = useAsync(
    () => call('DescribeComplianceAssetPolicyItemList', { CustomerAssetId: asset.CustomerAssetId, Limit: p.limit, Offset: p.offset }),
    `${asset.CustomerAssetId}/${p.offset}/${p.limit}/${version}`,
  );
  const name = assetLabel(asset);
  const change = (action, params) => run(() => call(action, params).then(items.reload));
  const whitelist = (it) =>
    change('AddComplianceAssetPolicySetToWhitelist', {
      AssetPolicySetList: [{ CustomerAssetItemId: asset.CustomerAssetId, CustomerPolicyItemIdSet: [it.CustomerPolicyItemId] }],
      AssetType: asset.AssetType,
    });
  const unlist = (it) => change('DeleteCompliancePolicyItemFromWhitelist', { WhitelistIdSet: [it.WhitelistId] });
  return (
    <section aria-labelledby="items-title" class="items">
      <h2 id="items-title">{t('compliance.itemsOf', { name })}</h2>
      <ErrorText error={error || items.error} />
      <Loading on={items.loading && !items.data} />
      <TableWrap label={t('compliance.items')}>
        <table id="items-table">
          <Thead
            cols={[
              t('compliance.item'),
              t('compliance.category'),
              t('compliance.riskLevel'),
              t('compliance.result'),
              t('compliance.evidence'),
              t('common.actions'),
            ]}
          />
          <tbody>
            {(items.data?.AssetPolicyItemList || []).map((it) => (
              <tr data-item-id={it.CustomerPolicyItemId}>
                <td>{it.Name}</td>
                <td>{it.Category}</td>
                <td>
                  <RiskLevel level={it.RiskLevel} />
                </td>
                <td>
                  <Result r={it.CheckResult} />
                  {it.WhitelistId ? <span class="badge whitelisted">{t('compliance.whitelisted')}</span> : null}
                </td>
                <td>
                  {it.VerifyInfo || it.FixSuggestion ? (
                    <details>
                      <summary>{t('compliance.evidence')}</summary>
                      {it.VerifyInfo ? <pre>{it.VerifyInfo}</pre> : null}
                      {it.FixSuggestion ? (
                        <p>
                          <strong>{t('compliance.fix')}:</strong> {it.FixSuggestion}
                        </p>
                      ) : null}
                    </details>
                  ) : null}
                </td>
                <td>
                  <div class="actions">
                    <button type="button" aria-label={t('compliance.recheckItem', { name: it.Name })} onClick={() => onRecheck(it)}>
                      {t('compliance.recheck')}
                    </button>
                    {it.WhitelistId ? (
                      <button type="button" disabled={busy} aria-label={t('compliance.unlistItem', { name: it.Name })} onClick={() => unlist(it)}>
                        {t('compliance.unlist')}
                      </button>
                    ) : (
                      <button type="button" disabled={busy} aria-label={t('compliance.whitelistItem', { name: it.Name })} onClick={() => whitelist(it)}>
                        {t('compliance.whitelist')}
                      </button>
                    )}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      {items.data ? <Pager idPrefix="items" {...p} total={items.data.TotalCount} onChange={setP} /> : null}
    </section>
  );
}

function Whitelist() {
  const { t, call } = useCtx();
  const [p, setP] = useState({ offset: 0, limit: 20 });
  const [itemId, setItemId] = useState('');
  const { busy, error, run } = useAction();
  const [notice, setNotice] = useState(null);
  const list = useAsync(
    () => call('DescribeComplianceWhitelistItemList', { AssetTypeSet: ASSET_TYPES, Limit: p.limit, Offset: p.offset, By: 'InsertTime', Order: 'DESC' }),
    `${p.offset}/${p.limit}`,
  );
  const change = (action, params, msg) => {
    setNotice(null);
    return run(async () => {
      await call(action, params);
      setNotice(msg);
      list.reload();
      return true;
    });
  };
  const rows = list.data?.WhitelistItemSet || [];
  return (
    <section aria-labelledby="wl-title">
      <h2 id="wl-title">{t('compliance.section.whitelist')}</h2>
      <p class="muted">{t('compliance.whitelistNote')}</p>
      <form
        class="filters"
        onSubmit={async (e) => {
          e.preventDefault();
          const id = Number(itemId);
          if (await change('AddCompliancePolicyItemToWhitelist', { CustomerPolicyItemIdSet: [id] }, t('compliance.whitelistAdded', { id }))) setItemId('');
        }}
      >
        <div class="field">
          <label for="wl-item">{t('compliance.itemId')}</label>
          <input id="wl-item" type="number" min="1" required value={itemId} onInput={(e) => setItemId(e.currentTarget.value)} />
        </div>
        <button type="submit" class="primary" disabled={busy}>
          {t('compliance.whitelistAll')}
        </button>
      </form>
      <p role="status" class="notice">{notice}</p>
      <ErrorText error={error || list.error} />
      <Loading on={list.loading && !list.data} />
      <TableWrap label={t('compliance.section.whitelist')}>
        <table id="whitelist-table">
          <Thead
            cols={[
              t('compliance.itemId'),
              t('compliance.item'),
              t('compliance.standard'),
              t('compliance.affected'),
              t('compliance.added'),
              t('common.actions'),
            ]}
          />
          <tbody>
            {rows.map((w) => (
              <tr data-whitelist-id={w.WhitelistItemId} data-item-id={w.CustomerPolicyItemId}>
                <td class="num">{w.CustomerPolicyItemId}</td>
                <td>{w.Name}</td>
                <td>{w.StandardName}</td>
                <td class="num">{w.AffectedAssetCount}</td>
                <td class="time">{fmtTime(w.InsertTime)}</td>
                <td>
                  <button
                    type="button"
                    disabled={busy}
                    aria-label={t('compliance.unlistItem', { name: w.Name })}
                    onClick={() => change('DeleteCompliancePolicyItemFromWhitelist', { WhitelistIdSet: [w.WhitelistItemId] }, t('compliance.whitelistRemoved', { name: w.Name }))}
                  >
                    {t('compliance.unlist')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      <ListEnd list={list} rows={rows} p={p} onChange={setP} idPrefix="whitelist" />
    </section>
  );
}

const FREQUENCIES = [1, 3, 7];

function PeriodTasks() {
  const { t, call } = useCtx();
  const list = useAsync(() => call('DescribeCompliancePeriodTaskList', { Limit: 100 }), 'period');
  return (
    <section aria-labelledby="period-title">
      <h2 id="period-title">{t('compliance.section.periodic')}</h2>
      <p class="muted">{t('compliance.periodicNote')}</p>
      <ErrorText error={list.error} />
      <Loading on={list.loading && !list.data} />
      <div class="period-list">
        {(list.data?.PeriodTaskSet || []).map((task) => (
          <PeriodTask task={task} onSaved={list.reload} />
        ))}
      </div>
    </section>
  );
}

function PeriodTask({ task, onSaved }) {
  const { t, call } = useCtx();
  const std = task.BenchmarkStandardSet[0];
  const initial = () => ({
    enable: task.PeriodRule.Enable,
    frequency: task.PeriodRule.Frequency,
    time: task.PeriodRule.ExecutionTime,
    standard: std ? std.Enabled : true,
  });
  const [f, setF] = useState(initial);
  const { busy, error, run } = useAction();
  const [saved, setSaved] = useState(false);
  useEffect(() => setF(initial()), [JSON.stringify(task.PeriodRule), std?.Enabled]);
  const set = (patch) => {
    setSaved(false);
    setF((x) => ({ ...x, ...patch }));
  };
  const id = `pt-${task.PeriodTaskId}`;
  const save = (e) => {
    e.preventDefault();
    // A time input may drop the seconds; the API wants HH:mm:SS.
    const time = f.time.length === 5 ? `${f.time}:00` : f.time;
    const req = { PeriodTaskId: task.PeriodTaskId, PeriodRule: { Frequency: Number(f.frequency), ExecutionTime: time, Enable: f.enable } };
    if (std) req.StandardSettings = [{ StandardId: std.StandardId, Enable: f.standard }];
    run(async () => {
      await call('ModifyCompliancePeriodTask', req);
      setSaved(true);
      onSaved();
    });
  };
  const title = t(`asset.${task.AssetType}`);
  return (
    <form class="panel period" onSubmit={save} aria-labelledby={`${id}-title`} data-asset-type={task.AssetType}>
      <h3 id={`${id}-title`}>{title}</h3>
      <label class="check">
        <input type="checkbox" checked={f.enable} onChange={(e) => set({ enable: e.currentTarget.checked })} />
        {t('compliance.periodEnable')}
      </label>
      <div class="field">
        <label for={`${id}-freq`}>{t('compliance.frequency')}</label>
        <select id={`${id}-freq`} value={f.frequency} onChange={(e) => set({ frequency: Number(e.currentTarget.value) })}>
          {FREQUENCIES.map((n) => (
            <option value={n}>{t('compliance.everyDays', { n })}</option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for={`${id}-time`}>{t('compliance.execTime')}</label>
        <input id={`${id}-time`} type="time" step="1" required value={f.time} onInput={(e) => set({ time: e.currentTarget.value })} />
      </div>
      {std ? (
        <label class="check">
          <input type="checkbox" checked={f.standard} onChange={(e) => set({ standard: e.currentTarget.checked })} />
          {t('compliance.standardOn', { name: std.Name, n: std.PolicyItemCount })}
        </label>
      ) : null}
      <p class="muted">
        {t('compliance.lastTrigger')}: {fmtTime(task.LastTriggerTime) || '—'}
      </p>
      <ErrorText error={error} />
      <div class="buttons">
        <span role="status">{saved ? t('common.saved') : ''}</span>
        <button type="submit" class="primary" disabled={busy} aria-label={t('compliance.savePeriod', { name: title })}>
          {t('common.save')}
        </button>
      </div>
    </form>
  );
}
