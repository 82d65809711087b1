// Compliance: asset types → assets (DescribeComplianceAssetList) → check items
// (DescribeComplianceAssetPolicyItemList). Re-check an asset (ScanComplianceAssets), the items
// that could not be checked (ScanComplianceScanFailedAssets) or one item
// (ScanComplianceAssetsByPolicyItem); the lists are then polled until the asset's check is done.
import { useEffect, useState } from 'preact/hooks';
import { ErrorText, Loading, Pager, TableWrap, Tabs, fmtTime, useAsync, useCtx } from '../ui.jsx';
import { ASSET_TYPES } from './overview.jsx';

const POLL_MS = 2000;
const MAX_POLLS = 150;

const assetLabel = (a) => a.AssetName || a.ImageTag || a.NodeName || String(a.CustomerAssetId);

export function Compliance({ type }) {
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
    <section aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>{t('compliance.title')}</h1>
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
            <thead>
              <tr>
                <th scope="col">{t('compliance.asset')}</th>
                <th scope="col">{t('compliance.node')}</th>
                <th scope="col">{t('compliance.status')}</th>
                <th scope="col">{t('compliance.result')}</th>
                <th scope="col">{t('compliance.passed')}</th>
                <th scope="col">{t('compliance.failed')}</th>
                <th scope="col">{t('compliance.lastCheck')}</th>
                <th scope="col">{t('common.actions')}</th>
              </tr>
            </thead>
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
        {!list.loading && rows.length === 0 && !list.error ? <p class="muted">{t('common.empty')}</p> : null}
        {list.data ? <Pager idPrefix="assets" {...p} total={list.data.TotalCount} onChange={setP} /> : null}
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
    </section>
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
  const items = useAsync(
    () => call('DescribeComplianceAssetPolicyItemList', { CustomerAssetId: asset.CustomerAssetId, Limit: p.limit, Offset: p.offset }),
    `${asset.CustomerAssetId}/${p.offset}/${p.limit}/${version}`,
  );
  const name = assetLabel(asset);
  return (
    <section aria-labelledby="items-title" class="items">
      <h2 id="items-title">{t('compliance.itemsOf', { name })}</h2>
      <ErrorText error={items.error} />
      <Loading on={items.loading && !items.data} />
      <TableWrap label={t('compliance.items')}>
        <table id="items-table">
          <thead>
            <tr>
              <th scope="col">{t('compliance.item')}</th>
              <th scope="col">{t('compliance.category')}</th>
              <th scope="col">{t('compliance.riskLevel')}</th>
              <th scope="col">{t('compliance.result')}</th>
              <th scope="col">{t('compliance.evidence')}</th>
              <th scope="col">{t('common.actions')}</th>
            </tr>
          </thead>
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
                  <button type="button" aria-label={t('compliance.recheckItem', { name: it.Name })} onClick={() => onRecheck(it)}>
                    {t('compliance.recheck')}
                  </button>
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
