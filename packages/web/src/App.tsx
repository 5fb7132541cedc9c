import { useCallback, useEffect, useMemo, useState } from 'react';
import { HttpApi, type CityApi } from './api.js';
import { CompareView, type CompareRunRef } from './components/CompareView.js';
import { DataView } from './components/DataView.js';
import { LangSwitcher } from './components/LangSwitcher.js';
import { LiveView } from './components/LiveView.js';
import { Login, type SignInError } from './components/Login.js';
import { ReplayView, type CompareReplayRef } from './components/ReplayView.js';
import { I18nContext, SessionContext, type I18n, type Session } from './context.js';
import { errorInfo } from './server-errors.js';
import { isLang, translate, type Lang } from './i18n.js';
import type { Role } from './types.js';

type Tab = 'live' | 'compare' | 'replay' | 'data';
const TAB_LABEL = { live: 'tabLive', compare: 'tabCompare', replay: 'tabReplay', data: 'tabData' } as const;

/**
 * The tabs a session shows: an analyst (a department's data user) only the
 * Data tab; operators the city's tabs and the Data tab (where the API has a
 * data hub: the in-browser fixture has none); everyone else the city's.
 */
export function tabsFor(role: Role, hub: boolean): Tab[] {
  if (role === 'analyst') return ['data'];
  return role === 'operator' && hub ? ['live', 'compare', 'replay', 'data'] : ['live', 'compare', 'replay'];
}
const TOKEN_KEY = 'citybrain.token';
const LANG_KEY = 'citybrain.lang';
const WALL_KEY = 'citybrain.wall';

/** Wall mode asked for by the address (`?wall=1` or `#wall`; `?wall=0` leaves it), else as last left. */
function initialWall(): boolean {
  const asked = new URLSearchParams(location.search).get('wall');
  const wall = asked !== null ? asked !== '0' : location.hash === '#wall' || localStorage.getItem(WALL_KEY) === '1';
  localStorage.setItem(WALL_KEY, wall ? '1' : '0');
  return wall;
}

function initialLang(): Lang {
  const saved = localStorage.getItem(LANG_KEY);
  if (isLang(saved)) return saved;
  const nav = navigator.language.slice(0, 2);
  return isLang(nav) ? nav : 'en';
}

/** A valid token whose role cannot use the dashboard. */
class RoleRefused extends Error {
  constructor(readonly role: Role) {
    super(`role ${role} cannot use the dashboard`);
  }
}

export interface AppProps {
  /** in-browser synthetic city instead of the server */
  fixture: string | null;
  /** live period of the fixture, ms */
  fixturePeriodMs?: number;
}

export function App({ fixture, fixturePeriodMs }: AppProps) {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const i18n = useMemo<I18n>(() => {
    const formats = new Map<number, Intl.NumberFormat>();
    return {
      lang,
      setLang: (l) => {
        localStorage.setItem(LANG_KEY, l);
        setLangState(l);
      },
      t: (key, params) => translate(lang, key, params),
      num: (x, digits = 0) => {
        let f = formats.get(digits);
        if (!f) formats.set(digits, (f = new Intl.NumberFormat(lang, { minimumFractionDigits: digits, maximumFractionDigits: digits })));
        return f.format(x);
      },
    };
  }, [lang]);
  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = `${i18n.t('appTitle')} · ${i18n.t('appSubtitle')}`;
  }, [lang, i18n]);

  const [session, setSession] = useState<Session | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<SignInError | null>(null);
  // signed out by the server (a 401 mid-session), not by the user: the log-in says so
  const [ended, setEnded] = useState(false);
  const [tab, setTab] = useState<Tab>('live');
  const [wall, setWallState] = useState(initialWall);
  const setWall = useCallback((on: boolean) => {
    localStorage.setItem(WALL_KEY, on ? '1' : '0');
    setWallState(on);
  }, []);
  // the wall's larger type and darker theme are the root's (styles.css: html.wall), so every rem follows
  const tabs = session ? tabsFor(session.me.role, session.api.hubDatasets !== undefined) : [];
  const shownTab = tabs.includes(tab) ? tab : tabs[0];
  // the wall is the live map's: not for an analyst, who has no map
  const inWall = wall && session !== null && tabs.includes('live');
  useEffect(() => {
    document.documentElement.classList.toggle('wall', inWall);
  }, [inWall]);
  const [replayRef, setReplayRef] = useState<CompareReplayRef | null>(null);
  const [compareRun, setCompareRun] = useState<CompareRunRef | null>(null);

  const signOut = useCallback(() => {
    sessionStorage.removeItem(TOKEN_KEY);
    setSession(null);
    setCompareRun(null);
  }, []);
  const signIn = useCallback(async (token: string) => {
    setBusy(true);
    setError(null);
    setEnded(false);
    try {
      // a token revoked mid-session sends the user back to the log-in
      let signedIn = false;
      const api: CityApi = fixture
        ? (await import('./fixture/fixture-api.js')).createFixtureApi(fixture, token, { periodMs: fixturePeriodMs })
        : new HttpApi(token, '', () => signedIn && (signOut(), setEnded(true)));
      const me = await api.me();
      // a device's token is valid but may read nothing the dashboard shows: say so here, not with a page of 403s
      if (me.role === 'device') throw new RoleRefused(me.role);
      // an analyst reads the data hub only: nothing for one where there is none (the in-browser city)
      if (me.role === 'analyst' && !api.hubDatasets) throw new RoleRefused(me.role);
      signedIn = true;
      sessionStorage.setItem(TOKEN_KEY, token);
      setSession({ api, me, canOperate: me.role === 'operator', fixture, signOut });
    } catch (e) {
      sessionStorage.removeItem(TOKEN_KEY);
      setError(e instanceof RoleRefused ? { kind: 'role', role: e.role } : errorInfo(e));
    } finally {
      setBusy(false);
    }
  }, [fixture, fixturePeriodMs, signOut]);
  // a reload keeps the session of this tab
  useEffect(() => {
    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) void signIn(saved);
  }, [signIn]);

  const t = i18n.t;
  return (
    <I18nContext.Provider value={i18n}>
      {!session ? (
        <Login fixture={fixture} busy={busy} error={error} ended={ended} onSignIn={signIn} />
      ) : (
        <SessionContext.Provider value={session}>
          {inWall ? (
            <div className="app">
              <main>
                <LiveView wall onExitWall={() => setWall(false)} />
              </main>
            </div>
          ) : (
          <div className="app">
            <header className="top">
              <div className="brand">
                <b>{t('appTitle')}</b>
                <span className="muted">{t('appSubtitle')}</span>
              </div>
              <nav className="tabs main-tabs" role="tablist">
                {tabs.map((k) => (
                  <button type="button" role="tab" key={k} data-tab={k} aria-selected={shownTab === k} className={shownTab === k ? 'on' : ''} onClick={() => setTab(k)}>
                    {t(TAB_LABEL[k])}
                  </button>
                ))}
              </nav>
              <div className="user">
                {tabs.includes('live') && <button type="button" name="wall-mode" title={t('wallModeHint')} onClick={() => (setTab('live'), setWall(true))}>{t('wallMode')}</button>}
                <LangSwitcher />
                <span className="name" translate="no">{session.me.name}</span>
                <span className={`role role-${session.me.role}`} data-testid="role">{t(`role_${session.me.role}`)}</span>
                {!session.canOperate && session.me.role !== 'analyst' && <span className="badge">{t('readOnly')}</span>}
                <button type="button" name="sign-out" onClick={signOut}>{t('signOut')}</button>
              </div>
            </header>
            <main>
              {shownTab === 'live' && <LiveView />}
              {shownTab === 'compare' && <CompareView current={compareRun} onOpen={setCompareRun} onReplay={(r) => (setReplayRef(r), setTab('replay'))} />}
              {shownTab === 'replay' && <ReplayView compare={replayRef} />}
              {shownTab === 'data' && <DataView />}
            </main>
          </div>
          )}
        </SessionContext.Provider>
      )}
    </I18nContext.Provider>
  );
}
