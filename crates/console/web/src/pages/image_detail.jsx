// One image: DescribeAssetImageDetail, then tabs over DescribeAssetImageVulList / VirusList /
// RiskList (paged) and the build steps of BuildHistory (Layers).
import { useState } from 'preact/hooks';
import { ErrorText, Loading, Pager, SevBadge, TableWrap, Tabs, fmtSize, fmtTime, useAsync, useCtx } from '../ui.jsx';

const TABS = ['vul', 'virus', 'risk', 'layers'];

/** BuildHistory: steps of `# <created>` then the command, oldest first. */
export function parseHistory(text) {
  const steps = [];
  for (const line of (text || '').split('\n')) {
    if (line.startsWith('# ') || line === '#') steps.push({ created: line.slice(2).trim(), command: [] });
    else if (steps.length) steps[steps.length - 1].command.push(line);
    else steps.push({ created: '', command: [line] });
  }
  return steps.map((s) => ({ created: s.created, command: s.command.join('\n') }));
}

export function ImageDetail({ id, tab }) {
  const { t, call } = useCtx();
  const d = useAsync(() => call('DescribeAssetImageDetail', { ImageID: id }), id);
  const current = TABS.includes(tab) ? tab : 'vul';
  const select = (x) => location.replace(`#/image/${encodeURIComponent(id)}/${x}`);
  const img = d.data;
  return (
    <section aria-labelledby="page-title">
      <p>
        <a href="#/images">← {t('detail.back')}</a>
      </p>
      <h1 id="page-title" tabIndex={-1} class="mono-title">
        {img ? img.ImageName || id : id}
      </h1>
      <ErrorText error={d.error} />
      <Loading on={d.loading && !img} />
      {img ? (
        <dl class="facts">
          <dt>{t('detail.id')}</dt>
          <dd class="mono">{img.ImageID}</dd>
          <dt>{t('detail.os')}</dt>
          <dd>{img.OsName}</dd>
          <dt>{t('detail.arch')}</dt>
          <dd>{img.Architecture}</dd>
          <dt>{t('detail.size')}</dt>
          <dd>{fmtSize(img.Size)}</dd>
          <dt>{t('detail.created')}</dt>
          <dd>{fmtTime(img.CreateTime)}</dd>
          <dt>{t('detail.status')}</dt>
          <dd>{t(`status.${img.ScanStatus}`)}</dd>
          <dt>{t('detail.scanTime')}</dt>
          <dd>{fmtTime(img.ScanTime) || '—'}</dd>
          {img.RepoDigests?.length ? (
            <>
              <dt>{t('detail.digests')}</dt>
              <dd class="mono">{img.RepoDigests.join(', ')}</dd>
            </>
          ) : null}
        </dl>
      ) : null}
      <Tabs
        label={t('detail.tabs')}
        idPrefix="detail"
        current={current}
        onSelect={select}
        tabs={[
          { id: 'vul', label: `${t('tab.vul')}${img ? ` (${img.VulCnt})` : ''}` },
          { id: 'virus', label: `${t('tab.virus')}${img ? ` (${img.VirusCnt})` : ''}` },
          { id: 'risk', label: `${t('tab.risk')}${img ? ` (${img.RiskCnt})` : ''}` },
          { id: 'layers', label: t('tab.layers') },
        ]}
      >
        {current === 'vul' ? <VulTab id={id} /> : null}
        {current === 'virus' ? <VirusTab id={id} /> : null}
        {current === 'risk' ? <RiskTab id={id} /> : null}
        {current === 'layers' ? <LayersTab history={img?.BuildHistory} /> : null}
      </Tabs>
    </section>
  );
}

/** A paged finding list of one image. */
function usePaged(action, id, extra, initialLimit = 50) {
  const { call } = useCtx();
  const [p, setP] = useState({ offset: 0, limit: initialLimit });
  const r = useAsync(() => call(action, { ImageID: id, Limit: p.limit, Offset: p.offset, ...extra }), `${id}/${p.offset}/${p.limit}`);
  return { ...r, p, setP };
}

const linkOf = (ref) => (ref || '').split(/\s+/).find((u) => /^https?:\/\//.test(u));

function VulTab({ id }) {
  const { t } = useCtx();
  const r = usePaged('DescribeAssetImageVulList', id, { By: 'Level', Order: 'DESC' });
  return (
    <>
      <ErrorText error={r.error} />
      <Loading on={r.loading} />
      <TableWrap label={t('tab.vul')}>
        <table id="vul-table">
          <caption class="sr-only">{t('tab.vul')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('vul.level')}</th>
              <th scope="col">{t('vul.id')}</th>
              <th scope="col">{t('vul.component')}</th>
              <th scope="col">{t('vul.version')}</th>
              <th scope="col">{t('vul.fixed')}</th>
              <th scope="col">{t('vul.cvss')}</th>
              <th scope="col">{t('vul.name')}</th>
            </tr>
          </thead>
          <tbody>
            {(r.data?.List || []).map((v) => {
              const href = linkOf(v.Reference);
              return (
                <tr data-cve={v.CVEID}>
                  <td>
                    <SevBadge level={v.Level} />
                  </td>
                  <td class="mono cve">
                    {href ? (
                      <a href={href} target="_blank" rel="noopener noreferrer">
                        {v.CVEID}
                      </a>
                    ) : (
                      v.CVEID
                    )}
                  </td>
                  <td class="mono component">{v.Component}</td>
                  <td class="mono version">{v.Version}</td>
                  <td class="mono fixed">{v.FixedVersions}</td>
                  <td class="num">{v.CVSSV3Score || ''}</td>
                  <td>{v.Name}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </TableWrap>
      {r.data ? <Pager idPrefix="vul" {...r.p} total={r.data.TotalCount} onChange={r.setP} /> : null}
    </>
  );
}

function VirusTab({ id }) {
  const { t } = useCtx();
  const r = usePaged('DescribeAssetImageVirusList', id, {});
  return (
    <>
      <ErrorText error={r.error} />
      <Loading on={r.loading} />
      <TableWrap label={t('tab.virus')}>
        <table id="virus-table">
          <caption class="sr-only">{t('tab.virus')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('virus.path')}</th>
              <th scope="col">{t('virus.name')}</th>
              <th scope="col">{t('virus.desc')}</th>
              <th scope="col">{t('virus.md5')}</th>
            </tr>
          </thead>
          <tbody>
            {(r.data?.List || []).map((v) => (
              <tr>
                <td class="mono">{v.Path}</td>
                <td>{v.VirusName}</td>
                <td>{v.Desc}</td>
                <td class="mono">{v.Md5}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      {r.data ? <Pager idPrefix="virus" {...r.p} total={r.data.TotalCount} onChange={r.setP} /> : null}
    </>
  );
}

function RiskTab({ id }) {
  const { t } = useCtx();
  const r = usePaged('DescribeAssetImageRiskList', id, {});
  return (
    <>
      <ErrorText error={r.error} />
      <Loading on={r.loading} />
      <TableWrap label={t('tab.risk')}>
        <table id="risk-table">
          <caption class="sr-only">{t('tab.risk')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('risk.level')}</th>
              <th scope="col">{t('risk.type')}</th>
              <th scope="col">{t('risk.desc')}</th>
              <th scope="col">{t('risk.content')}</th>
            </tr>
          </thead>
          <tbody>
            {(r.data?.List || []).map((v) => (
              <tr>
                <td>
                  <SevBadge level={v.Level} />
                </td>
                <td>{t(`risktype.${v.Type}`)}</td>
                <td>{v.Desc}</td>
                <td class="mono">{v.InstructionContent}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      {r.data ? <Pager idPrefix="risk" {...r.p} total={r.data.TotalCount} onChange={r.setP} /> : null}
    </>
  );
}

function LayersTab({ history: text }) {
  const { t } = useCtx();
  const steps = parseHistory(text);
  return (
    <TableWrap label={t('tab.layers')}>
      <table id="layers-table">
        <caption class="sr-only">{t('tab.layers')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('layer.step')}</th>
            <th scope="col">{t('layer.created')}</th>
            <th scope="col">{t('layer.command')}</th>
          </tr>
        </thead>
        <tbody>
          {steps.map((s, i) => (
            <tr>
              <td class="num">{i + 1}</td>
              <td class="time">{s.created}</td>
              <td>
                <pre>{s.command}</pre>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {steps.length === 0 ? <p class="muted">{t('common.empty')}</p> : null}
    </TableWrap>
  );
}
