import { useState, type FormEvent } from 'react';
import { useI18n } from '../context.js';
import { LangSwitcher } from './LangSwitcher.js';

export function Login({ fixture, busy, error, ended, onSignIn }: { fixture: string | null; busy: boolean; error: string | null; ended: boolean; onSignIn(token: string): void }) {
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
        {error && <p className="error" role="alert">{t('signInFailed', { message: error })}</p>}
        {fixture && <p className="muted small">{t('fixtureHint')}</p>}
        <LangSwitcher />
      </form>
    </div>
  );
}
