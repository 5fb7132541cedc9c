import { createContext, useContext } from 'react';
import type { CityApi } from './api.js';
import { ApiError } from './api.js';
import type { Lang, MessageKey, Params } from './i18n.js';
import type { Me } from './types.js';

export interface I18n {
  lang: Lang;
  setLang(lang: Lang): void;
  t(key: MessageKey, params?: Params): string;
  /** a number in the current language's format */
  num(x: number, digits?: number): string;
}

export const I18nContext = createContext<I18n | null>(null);

export function useI18n(): I18n {
  const v = useContext(I18nContext);
  if (!v) throw new Error('useI18n outside I18nContext');
  return v;
}

export interface Session {
  api: CityApi;
  me: Me;
  /** operators may change the city; everyone else only looks */
  canOperate: boolean;
  /** fixture name when the API is the in-browser synthetic city */
  fixture: string | null;
  signOut(): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const v = useContext(SessionContext);
  if (!v) throw new Error('useSession outside SessionContext');
  return v;
}

/** Simulated seconds as h:mm:ss. */
export function formatClock(t: number): string {
  const s = Math.max(0, Math.floor(t));
  return `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

export function errorText(e: unknown): string {
  return e instanceof ApiError || e instanceof Error ? e.message : String(e);
}

/** A 404 from an endpoint the server does not offer (yet). */
export function isMissing(e: unknown): boolean {
  return e instanceof ApiError && (e.status === 404 || e.status === 405 || e.status === 501);
}
