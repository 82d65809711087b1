// Overview: asset counts (DescribeAssetSummary), images by highest severity (counts from
// DescribeAssetImageList, see severityBuckets), the scan schedule and the compliance pass rate per
// asset type, and the advisory data's age: no TCSS action reports it, so that one figure is read
// from the server's public `GET /metrics` (see advisory.js), not from a second API.
import { advisoryAge, fetchAdvisoryAge } from '../advisory.js';
import { fmtUtc, nextScan } from '../schedule.js';
import { ErrorText, Loading, Prose, SevBadge, useAsync, useCtx } from '../ui.jsx';

export const ASSET_TYPES = ['ASSET_CONTAINER', 'ASSET_IMAGE', 'ASSET_HOST', 'ASSET_K8S', 'ASSET_CONTAINERD', 'ASSET_CONTAINERD_CONTAINER'];

const LEVELS = ['CriticalLevelVul', 'HighLevelVul', 'MediumLevelVul', 'LowLevelVul'];

/**
 * Images by highest vulnerability level, counted on the server: a `Limit: 0` DescribeAssetImageList
 * per bucket (its TotalCount), never the rows, so the page costs the same with 1,000 images as with
 * ten. `SecurityRisk` values are OR-ed, so [Critical, High] counts images whose highest level is
 * High or above; each bucket is the difference of two such counts. 'unscanned' = ScanStatus
 * NOT_SCAN; 0 = the rest (scanned, or scanning/failed, with no vulnerability found).
 */
export async function severityBuckets(call) {
  const count = (filters) => call('DescribeAssetImageList', { Limit: 0, Filters: filters }).then((r) => r.TotalCount);
  const atLeast = LEVELS.map((_, i) => count([{ Name: 'SecurityRisk', Values: LEVELS.slice(0, i + 1) }]));
  const [total, unscanned, c, ch, chm, chml] = await Promise.all([
    count([]),
    count([{ Name: 'ScanStatus', Values: ['NOT_SCAN'] }]),
    ...atLeast,
  ]);
  return { total, 4: c, 3: ch - c, 2: chm - ch, 1: chml - chm, 0: total - chml - unscanned, unscanned };
}

function Card({ label, value, sub }) {
  return (
    <div class="card">
      <dt>{label}</dt>
      <dd>
        <span class="big">{value}</span>
        {sub ? <span class="sub">{sub}</span> : null}
      </dd>
    </div>
  );
}

function ScheduleCard({ setting }) {
  const { t } = useCtx();
  const next = nextScan(setting, Date.now());
  const value = !next ? t('overview.scheduleOff') : next.due ? t('overview.scheduleDue') : `${fmtUtc(next.at)} UTC`;
  const sub = next ? t('overview.scheduleOn', { n: setting.ScanPeriod, time: setting.ScanTime }) : null;
  return <Card label={t('overview.schedule')} value={<span class="time">{value}</span>} sub={sub} />;
}

/** The advisory data's age, with a warning when there is none or it is older than two days. */
function AdvisoryCard({ seconds }) {
  const { t } = useCtx();
  const a = advisoryAge(seconds);
  const warn = a.state === 'none' || a.state === 'stale';
  const value = a.state === 'unknown' ? t('overview.advisoryUnknown') : a.state === 'none' ? t('overview.advisoryNone') : t(`overview.advisoryAge.${a.unit}`, { n: a.n });
  const sub = warn ? t(a.state === 'none' ? 'overview.advisoryNoneHint' : 'overview.advisoryStaleHint') : a.state === 'unknown' ? t('overview.advisoryUnknownHint') : null;
  return (
    <div class={`card advisory${warn ? ' warn' : ''}`} id="advisory-age" data-state={a.state}>
      <dt>{t('overview.advisory')}</dt>
      <dd>
        <span class="phrase">
          {warn ? <span aria-hidden="true">⚠ </span> : null}
          {value}
        </span>
        {sub ? (
          <span class="sub">
            <Prose text={sub} />
          </span>
        ) : null}
      </dd>
    </div>
  );
}

export function Overview() {
  const { t, call } = useCtx();
  const summary = useAsync(() => call('DescribeAssetSummary', {}), 'summary');
  const images = useAsync(() => severityBuckets(call), 'images');
  const setting = useAsync(() => call('DescribeAssetImageScanSetting', {}), 'setting');
  const compliance = useAsync(() => call('DescribeComplianceTaskAssetSummary', { AssetTypeSet: ASSET_TYPES }), 'compliance');
  const advisory = useAsync(() => fetchAdvisoryAge(), 'advisory');
  const s = summary.data;

  const buckets = images.data || {};
  const total = buckets.total || 1;

  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>{t('overview.title')}</h1>
      <ErrorText error={summary.error} />
      <Loading on={summary.loading && !s} />
      {s ? (
        <dl class="cards" aria-label={t('overview.assets')}>
          <Card label={t('overview.images')} value={s.ImageCnt} />
          <Card label={t('overview.containers')} value={s.ContainerCnt} sub={t('overview.containersRunning', { n: s.ContainerRunning })} />
          <Card label={t('overview.hosts')} value={s.HostCnt} />
          <Card label={t('overview.scanned')} value={s.ScannedImageCnt} sub={t('overview.unscanned', { n: s.UnScannedImageCnt })} />
          <Card label={t('overview.withVuls')} value={s.ImageHasVulsCnt} />
          <Card label={t('overview.withVirus')} value={s.ImageHasVirusCnt} />
          <Card label={t('overview.withRisk')} value={s.ImageHasRiskInfoCnt} />
          <Card label={t('overview.lastScan')} value={<span class="time">{s.LatestImageScanTime || t('common.none')}</span>} />
          {setting.data ? <ScheduleCard setting={setting.data} /> : null}
          {advisory.loading ? null : <AdvisoryCard seconds={advisory.data} />}
        </dl>
      ) : null}

      <div class="grid2">
        <section aria-labelledby="sev-title">
          <h2 id="sev-title">{t('overview.bySeverity')}</h2>
          <ErrorText error={images.error} />
          <Loading on={images.loading && !images.data} />
          {images.data ? (
            <table class="bars" id="severity-table">
              <thead>
                <tr>
                  <th scope="col">{t('overview.severity')}</th>
                  <th scope="col">{t('overview.count')}</th>
                </tr>
              </thead>
              <tbody>
                {[4, 3, 2, 1, 0, 'unscanned'].map((k) => (
                  <tr data-severity={k}>
                    <th scope="row">
                      <SevBadge level={k} />
                    </th>
                    <td>
                      <span class="bar-wrap" aria-hidden="true">
                        <span class={`bar sev-${k}`} style={{ width: `${(100 * buckets[k]) / total}%` }} />
                      </span>
                      <span class="num">{buckets[k]}</span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </section>

        <section aria-labelledby="comp-title">
          <h2 id="comp-title">{t('overview.compliance')}</h2>
          <ErrorText error={compliance.error} />
          <Loading on={compliance.loading && !compliance.data} />
          {compliance.data ? (
            <table class="bars">
              <thead>
                <tr>
                  <th scope="col">{t('overview.assetType')}</th>
                  <th scope="col">{t('overview.passRate')}</th>
                </tr>
              </thead>
              <tbody>
                {compliance.data.AssetSummaryList.map((a) => {
                  const checked = a.PassedAssetCount + a.FailedAssetCount > 0;
                  const pct = checked ? Math.round(a.AssetPassedRate) : 0; // a percentage already
                  return (
                    <tr>
                      <th scope="row">
                        <a href={`#/compliance/${a.AssetType}`}>{t(`asset.${a.AssetType}`)}</a>
                      </th>
                      <td>
                        {checked ? (
                          <>
                            <span class="bar-wrap" aria-hidden="true">
                              <span class="bar pass" style={{ width: `${pct}%` }} />
                            </span>
                            <span class="num">
                              {pct} % ({a.PassedAssetCount}/{a.PassedAssetCount + a.FailedAssetCount})
                            </span>
                          </>
                        ) : (
                          <span class="muted">{t('overview.notChecked')}</span>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          ) : null}
        </section>
      </div>
    </section>
  );
}
