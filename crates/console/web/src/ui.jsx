// Shared pieces: the app context, the data hook, formatting and small accessible widgets.
import { createContext } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';

/** { t, lang, call(action, params) } for every page. */
export const Ctx = createContext(null);
export const useCtx = () => useContext(Ctx);

/**
 * Runs `fn` when `key` changes (and on reload()); keeps the last data while reloading so tables do
 * not flicker. Late answers of an older key are dropped.
 */
export function useAsync(fn, key) {
  const [state, setState] = useState({ loading: true, data: undefined, error: null, key: undefined, n: -1 });
  const [n, setN] = useState(0);
  const seq = useRef(0);
  useEffect(() => {
    const mine = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    fn().then(
      (data) => mine === seq.current && setState({ loading: false, data, error: null, key, n }),
      (error) => mine === seq.current && setState({ loading: false, data: undefined, error, key, n }),
    );
  }, [key, n]);
  // The render that changes the key (a new page size, filter or page) still holds the previous
  // answer: it is loading from that render on, not from the effect's render after it, so a pager
  // never shows the new range over the old rows with the table marked idle.
  const current = state.key === key && state.n === n;
  return { loading: state.loading || !current, data: state.data, error: state.error, reload: () => setN((x) => x + 1) };
}

export function fmtSize(bytes) {
  if (bytes == null) return '';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = Number(bytes);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** `2026-12-03T08:59:10.195205011Z` → `2026-12-03 08:59:10`; other forms as they are. */
export function fmtTime(s) {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]00:?00)?$/.exec(s || '');
  return m ? `${m[1]} ${m[2]}` : s || '';
}

/** A horizontally scrolling table container: focusable and named, so keyboard users can scroll it. */
export function TableWrap({ label, children }) {
  return (
    <div class="table-wrap" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}

/** A translated sentence with `code` spans. */
export function Prose({ text }) {
  return text.split('`').map((part, i) => (i % 2 ? <code>{part}</code> : part));
}

export const shortId = (id) => (id || '').replace(/^sha256:/, '').slice(0, 12);

export function ErrorText({ error }) {
  const { t } = useCtx();
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {t('common.error')}: {error.message}
      {error.code && error.code !== 'HTTP' ? <span class="code"> ({error.code})</span> : null}
    </p>
  );
}

export function Loading({ on }) {
  const { t } = useCtx();
  return on ? <p class="muted" aria-live="polite">{t('common.loading')}</p> : null;
}

/** Vulnerability level 1..4 (TCSS Level), 0 = none. */
export function SevBadge({ level }) {
  const { t } = useCtx();
  return <span class={`badge sev-${level}`}>{t(`sev.${level}`)}</span>;
}

export function Pager({ offset, limit, total, onChange, sizes = [10, 20, 50, 100], idPrefix }) {
  const { t } = useCtx();
  const from = total === 0 ? 0 : offset + 1;
  const to = Math.min(offset + limit, total);
  const sel = `${idPrefix}-limit`;
  return (
    <div class="pager">
      <label for={sel}>{t('common.perPage')}</label>
      <select id={sel} value={limit} onChange={(e) => onChange({ offset: 0, limit: Number(e.currentTarget.value) })}>
        {sizes.map((s) => (
          <option value={s}>{s}</option>
        ))}
      </select>
      <span class="range" aria-live="polite">{t('common.pageOf', { from, to, total })}</span>
      <button type="button" disabled={offset === 0} onClick={() => onChange({ offset: Math.max(0, offset - limit), limit })}>
        {t('common.prev')}
      </button>
      <button type="button" disabled={offset + limit >= total} onClick={() => onChange({ offset: offset + limit, limit })}>
        {t('common.next')}
      </button>
    </div>
  );
}

/** A table head of plain column headers (labels or nodes). */
export function Thead({ cols }) {
  return (
    <thead>
      <tr>
        {cols.map((c) => (
          <th scope="col">{c}</th>
        ))}
      </tr>
    </thead>
  );
}

/** Under a paged table: "nothing to show" when the page is empty, then the pager. */
export function ListEnd({ list, rows, p, onChange, idPrefix, empty }) {
  const { t } = useCtx();
  return (
    <>
      {!list.loading && rows.length === 0 && !list.error ? <p class="muted">{empty || t('common.empty')}</p> : null}
      {list.data ? <Pager idPrefix={idPrefix} offset={p.offset} limit={p.limit} total={list.data.TotalCount} onChange={onChange} /> : null}
    </>
  );
}

/** A change sent on a click: `run(fn)` marks busy, keeps the error, resolves to fn's value (undefined on error). */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const run = async (fn) => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}

/** A column header that sorts: a button inside the th, aria-sort on the th. */
export function SortTh({ label, field, sort, onSort }) {
  const { t } = useCtx();
  const active = sort.by === field;
  const dir = active ? (sort.order === 'DESC' ? 'descending' : 'ascending') : 'none';
  const next = () => onSort({ by: field, order: active && sort.order === 'ASC' ? 'DESC' : active ? 'ASC' : 'DESC' });
  return (
    <th scope="col" aria-sort={dir}>
      <button type="button" class="sort" onClick={next} title={t('images.sortBy', { col: label })}>
        {label}
        <span aria-hidden="true" class="arrow">{active ? (sort.order === 'DESC' ? '▼' : '▲') : '↕'}</span>
      </button>
    </th>
  );
}

/**
 * Tabs with the WAI-ARIA pattern: arrow keys, Home and End move between tabs (roving tabindex).
 * `tabs` = [{ id, label }]; the panel is the caller's child.
 */
export function Tabs({ label, tabs, current, onSelect, idPrefix, children }) {
  const refs = useRef({});
  const onKey = (e) => {
    const i = tabs.findIndex((x) => x.id === current);
    let j = null;
    if (e.key === 'ArrowRight') j = (i + 1) % tabs.length;
    else if (e.key === 'ArrowLeft') j = (i - 1 + tabs.length) % tabs.length;
    else if (e.key === 'Home') j = 0;
    else if (e.key === 'End') j = tabs.length - 1;
    if (j === null) return;
    e.preventDefault();
    onSelect(tabs[j].id);
    refs.current[tabs[j].id]?.focus();
  };
  return (
    <div class="tabs">
      <div role="tablist" aria-label={label} onKeyDown={onKey}>
        {tabs.map((x) => (
          <button
            type="button"
            role="tab"
            id={`${idPrefix}-tab-${x.id}`}
            aria-selected={x.id === current ? 'true' : 'false'}
            aria-controls={`${idPrefix}-panel`}
            tabIndex={x.id === current ? 0 : -1}
            ref={(el) => (refs.current[x.id] = el)}
            onClick={() => onSelect(x.id)}
          >
            {x.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`${idPrefix}-panel`} aria-labelledby={`${idPrefix}-tab-${current}`} tabIndex={0}>
        {children}
      </div>
    </div>
  );
}

/**
 * The period (days), start time and optional end time (UTC) of a scan schedule form, bound to
 * `form.ScanPeriod|ScanTime|ScanEndTime` (the API's names) and changed through `set(patch)`.
 * Input ids are `${id}-period|time|end`.
 */
export function ScheduleFields({ id, form, set }) {
  const { t } = useCtx();
  const field = (key, name, label, props) => (
    <div class="field">
      <label for={`${id}-${key}`}>{t(label)}</label>
      <input id={`${id}-${key}`} {...props} value={form[name] ?? ''} onInput={(e) => set({ [name]: e.currentTarget.value })} />
    </div>
  );
  return (
    <>
      {field('period', 'ScanPeriod', 'settings.period', { type: 'number', min: 1, max: 365, required: true })}
      {field('time', 'ScanTime', 'settings.time', { type: 'time', required: true })}
      {field('end', 'ScanEndTime', 'settings.endTime', { type: 'time' })}
    </>
  );
}

/**
 * A page's section links: `#/PAGE` for the first section, `#/PAGE/SECTION` for the others, named
 * `PAGE.section.SECTION` (and the nav `PAGE.sections`).
 */
export function SubNav({ page, sections, current }) {
  const { t } = useCtx();
  return (
    <nav aria-label={t(`${page}.sections`)} class="subnav">
      <ul>
        {sections.map((x, i) => (
          <li>
            <a href={i === 0 ? `#/${page}` : `#/${page}/${x}`} aria-current={x === current ? 'page' : undefined}>
              {t(`${page}.section.${x}`)}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

/** A form's Save button with its "Saved." status beside it. */
export function SaveButtons({ busy, saved, disabled }) {
  const { t } = useCtx();
  return (
    <div class="buttons">
      <button type="submit" class="primary" disabled={busy || disabled}>
        {t('common.save')}
      </button>
      <span role="status">{saved ? t('common.saved') : ''}</span>
    </div>
  );
}

/** A modal on the native <dialog> (focus trap, Escape and the top layer come with it). */
export function Modal({ title, onClose, children, id }) {
  const ref = useRef(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d && d.open && d.close();
  }, []);
  return (
    <dialog ref={ref} aria-labelledby={`${id}-title`} onClose={onClose} onCancel={onClose}>
      <h2 id={`${id}-title`}>{title}</h2>
      {children}
    </dialog>
  );
}
