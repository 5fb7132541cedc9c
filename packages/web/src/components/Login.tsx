import { useState, type FormEvent } from 'react';
import { useI18n } from '../context.js';
import { errorSentence, type ErrorInfo } from '../server-errors.js';
import type { Role } from '../types.js';

/** Why a sign-in failed: the call failed, or the token's role may not use the dashboard. */
export type SignInError = ErrorInfo | { kind: 'role'; role: Role };
import { FIXTURE_PRESETS, SANDBOX_LIMITS } from '../fixture/presets.js';
import { LangSwitcher } from './LangSwitcher.js';

/** A link to the in-browser sandbox (`?fixture=sandbox&rows=…`): a plain GET form, the page reloads into it. */
function SandboxForm() {
  const { t } = useI18n();
  const demo = FIXTURE_PRESETS.demo;
  const field = (name: keyof typeof SANDBOX_LIMITS, label: string) => (
    <label>
      {label}
      <input type="number" name={name} min={SANDBOX_LIMITS[name][0]} max={SANDBOX_LIMITS[name][1]} defaultValue={demo[name]} required />
    </label>
  );
  return (
    <details className="sandbox">
      <summary>{t('sandboxTitle')}</summary>
      <form method="get" name="sandbox">
        <p className="muted small">{t('sandboxHint')}</p>
        <input type="hidden" name="fixture" value="sandbox" />
        {field('rows', t('sandboxRows'))}
        {field('cols', t('sandboxCols'))}
        {field('spacing', t('sandboxSpacing'))}
        {field('vehicles', t('sandboxVehicles'))}
        <button type="submit" data-testid="open-sandbox">{t('sandboxOpen')}</button>
      </form>
    </details>
  );
}

export function Login({ fixture, busy, error, ended, onSignIn }: { fixture: string | null; busy: boolean; error: SignInError | null; ended: boolean; onSignIn(token: string): void }) {
  const { t } = useI18n();
  const [token, setToken] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (token.trim()) onSignIn(token.trim());
  };
  return (
    <div className="login-page">
      <form className="login" onSubmit={submit}>
        <h1>{t('appTitle')}</h1>
        <p className="muted">{t('appSubtitle')}</p>
        <h2>{t('signInTitle')}</h2>
        <label>
          {t('tokenLabel')}
          <input type="password" name="token" autoComplete="current-password" value={token} onChange={(e) => setToken(e.target.value)} autoFocus />
        </label>
        <button type="submit" className="primary" name="sign-in" disabled={busy || !token.trim()}>{busy ? t('signingIn') : t('signIn')}</button>
        {ended && !error && <p className="error" role="alert" data-testid="session-ended">{t('sessionEnded')}</p>}
        {error && (
          <p className="error" role="alert" title={error.kind === 'role' ? undefined : error.detail}>
            {t('signInFailed', { message: error.kind === 'role' ? t('roleCannotSignIn', { role: t(`role_${error.role}`) }) : errorSentence(error, t) })}
            {error.kind !== 'role' && <> <small className="error-detail" lang="en">{error.detail}</small></>}
          </p>
        )}
        {fixture && <p className="muted small">{t('fixtureHint')}</p>}
        <LangSwitcher />
      </form>
      <SandboxForm />
    </div>
  );
}
