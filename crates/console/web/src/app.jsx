// The shell: sign-in, header (navigation, language, theme, sign out) and the hash router.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, createClient } from './api.js';
import { LANGUAGES, apiLanguage, defaultLanguage, translator } from './i18n.js';
import { Ctx, ErrorText, Prose, useCtx } from './ui.jsx';
import { Overview } from './pages/overview.jsx';
import { Images } from './pages/images.jsx';
import { ImageDetail } from './pages/image_detail.jsx';
import { Compliance } from './pages/compliance.jsx';
import { Settings } from './pages/settings.jsx';
import { Registries } from './pages/registries.jsx';

// The key lives in this tab's sessionStorage only: gone when the tab closes, never in localStorage,
// a cookie or a URL. Preferences (language, theme) are not secret and live in localStorage.
const KEY_ITEM = 'shipshape.key';

function loadKey() {
  try {
    const k = JSON.parse(sessionStorage.getItem(KEY_ITEM) || 'null');
    return k && k.secretId && k.secretKey ? k : null;
  } catch {
    return null;
  }
}

function pref(name, fallback) {
  try {
    return localStorage.getItem(`shipshape.${name}`) || fallback;
  } catch {
    return fallback;
  }
}

function savePref(name, value) {
  try {
    localStorage.setItem(`shipshape.${name}`, value);
  } catch {
    /* private mode: the choice lasts for this page only */
  }
}

function parseRoute(hash) {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  switch (parts[0]) {
    case 'images':
      return { page: 'images' };
    case 'image':
      return { page: 'image', id: parts[1] || '', tab: parts[2] || 'vul' };
    case 'registries':
      return { page: 'registries', id: parts[1] || '' };
    case 'compliance':
      return { page: 'compliance', type: parts[1] || '' };
    case 'settings':
      return { page: 'settings' };
    default:
      return { page: 'overview' };
  }
}

export function App() {
  const [lang, setLang] = useState(() => pref('lang', defaultLanguage(navigator.languages || [navigator.language])));
  const [theme, setTheme] = useState(() =>
    pref('theme', window.matchMedia && matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'),
  );
  const [key, setKey] = useState(loadKey);
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  const [notice, setNotice] = useState(null);
  const t = useMemo(() => translator(lang), [lang]);
  const langRef = useRef(lang);
  langRef.current = lang;

  useEffect(() => {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    document.title = t('app.name');
  }, [lang]);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);

  const signOut = (why) => {
    sessionStorage.removeItem(KEY_ITEM);
    setKey(null);
    setNotice(why || null);
  };

  const client = useMemo(() => (key ? createClient(key, { language: () => apiLanguage(langRef.current) }) : null), [key]);
  const call = async (action, params) => {
    try {
      return await client.call(action, params);
    } catch (e) {
      // The key was disabled or removed on the server while signed in.
      if (e instanceof ApiError && (e.code === 'AuthFailure.SecretIdNotFound' || e.code === 'AuthFailure.SignatureFailure')) {
        signOut(e);
      }
      throw e;
    }
  };
  const ctx = { t, lang, call, secretId: key?.secretId };

  const header = (
    <header class="top">
      <span class="brand">{t('app.name')}</span>
      {key ? <Nav route={route} t={t} /> : null}
      <div class="prefs">
        <label for="lang">{t('header.language')}</label>
        <select
          id="lang"
          value={lang}
          onChange={(e) => {
            setLang(e.currentTarget.value);
            savePref('lang', e.currentTarget.value);
          }}
        >
          {Object.entries(LANGUAGES).map(([code, name]) => (
            <option value={code} lang={code === 'zh' ? 'zh-CN' : 'en'}>
              {name}
            </option>
          ))}
        </select>
        <button
          type="button"
          aria-pressed={theme === 'dark' ? 'true' : 'false'}
          onClick={() => {
            const next = theme === 'dark' ? 'light' : 'dark';
            setTheme(next);
            savePref('theme', next);
          }}
        >
          {t('header.theme.dark')}
        </button>
        {key ? (
          <button type="button" onClick={() => signOut()}>
            {t('header.signout')}
          </button>
        ) : null}
      </div>
    </header>
  );

  return (
    <Ctx.Provider value={ctx}>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>
        {t('app.skip')}
      </a>
      {header}
      <main id="main" tabIndex={-1}>
        {key ? (
          <Page route={route} />
        ) : (
          <SignIn
            notice={notice}
            onSignedIn={(k) => {
              sessionStorage.setItem(KEY_ITEM, JSON.stringify(k));
              setNotice(null);
              setKey(k);
            }}
          />
        )}
      </main>
    </Ctx.Provider>
  );
}

function Nav({ route, t }) {
  const links = [
    ['overview', '#/overview', t('nav.overview')],
    ['images', '#/images', t('nav.images')],
    ['registries', '#/registries', t('nav.registries')],
    ['compliance', '#/compliance', t('nav.compliance')],
    ['settings', '#/settings', t('nav.settings')],
  ];
  const current = route.page === 'image' ? 'images' : route.page;
  return (
    <nav aria-label={t('nav.label')}>
      <ul>
        {links.map(([id, href, label]) => (
          <li>
            <a href={href} aria-current={current === id ? 'page' : undefined}>
              {label}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

function Page({ route }) {
  // After a navigation (not on first load), move focus to the new page's heading so keyboard and
  // screen reader users land on it.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) first.current = false;
    else document.querySelector('main h1')?.focus();
  }, [route.page, route.id]);
  switch (route.page) {
    case 'images':
      return <Images />;
    case 'image':
      return <ImageDetail id={route.id} tab={route.tab} />;
    case 'registries':
      return <Registries id={route.id} />;
    case 'compliance':
      return <Compliance type={route.type} />;
    case 'settings':
      return <Settings />;
    default:
      return <Overview />;
  }
}

function SignIn({ onSignedIn, notice }) {
  const { t, lang } = useCtx();
  const [secretId, setSecretId] = useState('');
  const [secretKey, setSecretKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(notice);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const k = { secretId: secretId.trim(), secretKey: secretKey.trim() };
    try {
      // A read: proves the key without changing anything.
      await createClient(k, { language: () => apiLanguage(lang) }).call('DescribeAssetImageScanSetting', {});
      onSignedIn(k);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="signin" aria-labelledby="signin-title">
      <h1 id="signin-title" tabIndex={-1}>{t('signin.title')}</h1>
      <p class="muted">
        <Prose text={t('signin.intro')} />
      </p>
      <form onSubmit={submit}>
        <label for="secret-id">SecretId</label>
        <input id="secret-id" name="secretId" autocomplete="username" spellcheck={false} required value={secretId} onInput={(e) => setSecretId(e.currentTarget.value)} />
        <label for="secret-key">SecretKey</label>
        <input id="secret-key" name="secretKey" type="password" autocomplete="current-password" required value={secretKey} onInput={(e) => setSecretKey(e.currentTarget.value)} />
        <button type="submit" class="primary" disabled={busy}>
          {t('signin.submit')}
        </button>
        {busy ? <p class="muted" aria-live="polite">{t('signin.checking')}</p> : null}
        <ErrorText error={error} />
      </form>
    </section>
  );
}
