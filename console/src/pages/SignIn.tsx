import { useState, type FormEvent } from 'react';
import { ApiError, fetchWhoAmI, messageOf } from '../api';
import type { WhoAmI } from '../api-types';
import { Field } from '../components/Field';

/** Sign in with an admin token; the role it carries decides what the console offers. */
export function SignIn({ notice, onSignedIn }: { notice: string | null; onSignedIn(token: string, who: WhoAmI): void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const trimmed = token.trim();
    if (!trimmed) {
      setError('Enter an admin token.');
      return;
    }
    setPending(true);
    setError(null);
    try {
      onSignedIn(trimmed, await fetchWhoAmI<WhoAmI>(trimmed));
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'This admin token is unknown or revoked.' : messageOf(err));
      setPending(false);
    }
  };
  return (
    <main className="sign-in">
      <form className="card" onSubmit={submit} noValidate>
        <h1>Tollgate console</h1>
        <p>Sign in with an admin token. It stays in this browser tab only and is sent to the gateway's admin API.</p>
        {notice ? (
          <p className="notice" role="status">
            {notice}
          </p>
        ) : null}
        <Field
          label="Admin token"
          error={error ?? undefined}
          hint={
            <>
              <code>npm start</code> prints one; <code>npx tollgate admin-token create</code> makes another.
            </>
          }
        >
          {(control) => (
            <input {...control} type="password" autoComplete="current-password" autoFocus value={token} onChange={(e) => setToken(e.target.value)} />
          )}
        </Field>
        <div className="form-actions">
          <button type="submit" className="primary" disabled={pending}>
            {pending ? 'Signing in…' : 'Sign in'}
          </button>
        </div>
      </form>
    </main>
  );
}
