// Sign in with the API token (`http.token` of the config). When the server needs none, the console goes
// straight in.
import { useEffect, useState } from 'preact/hooks';
import type { JSX, TargetedEvent } from 'preact';
import { useLocation } from 'preact-iso';
import { api, ApiError, session } from '../api';
import type { SessionInfo } from '../api-types';
import { navigate } from '../paths';
import { sessionInfo } from '../session-state';

/** Where to go after signing in: the `next` page if it is one of ours (never another origin). */
function nextPage(query: Record<string, string>): string {
  const next = query['next'] ?? '';
  return /^[a-z0-9/_%.-]*(\?[^#]*)?$/i.test(next) && !next.startsWith('/') && !next.startsWith('login') ? next : '';
}

export function LoginPage(): JSX.Element {
  const { query } = useLocation();
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [checking, setChecking] = useState(true);

  // With no token required (or a stored one still valid) there is nothing to type.
  useEffect(() => {
    const controller = new AbortController();
    api<SessionInfo>('api/session', { signal: controller.signal }).then(
      (info) => {
        sessionInfo.set(info);
        navigate(nextPage(query), { replace: true });
      },
      () => setChecking(false),
    );
    return () => controller.abort();
  }, []);

  const submit = async (event: TargetedEvent<HTMLFormElement, SubmitEvent>): Promise<void> => {
    event.preventDefault();
    if (token.trim() === '') {
      setError('Type the API token (http.token in the config file).');
      return;
    }
    setBusy(true);
    setError(undefined);
    session.setToken(token.trim());
    try {
      const info = await api<SessionInfo>('api/session');
      sessionInfo.set(info);
      navigate(nextPage(query), { replace: true });
    } catch (caught) {
      session.setToken(undefined);
      setError(caught instanceof ApiError && caught.status === 401
        ? 'This token is not accepted. Check http.token in the config file (or the environment variable it names).'
        : caught instanceof Error ? caught.message : String(caught));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="login">
      <form class="card login-card" onSubmit={submit} aria-labelledby="login-title" noValidate>
        <h1 id="login-title">Sluice</h1>
        <p class="muted">Sign in with the API token of this Sluice server.</p>
        <div class="field">
          <label for="login-token">API token</label>
          <input id="login-token" type="password" autocomplete="current-password" value={token} disabled={checking}
            aria-describedby="login-hint" onInput={(e) => setToken(e.currentTarget.value)} />
          <p class="hint" id="login-hint">The <code>http.token</code> setting of the config file. It is kept in this tab only.</p>
        </div>
        {error !== undefined && <p class="alert alert-error" role="alert">{error}</p>}
        <button type="submit" class="button-primary" disabled={busy || checking}>{busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </main>
  );
}
