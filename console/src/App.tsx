import { useCallback, useEffect, useMemo, useState } from 'react';
import { ApiError, createApiClient, fetchWhoAmI, messageOf } from './api';
import type { WhoAmI } from './api-types';
import { ToastProvider } from './components/Toast';
import { Layout } from './Layout';
import { Routes } from './Routes';
import { SignIn } from './pages/SignIn';
import { capabilitiesOf, forgetToken, SessionContext, storedToken, storeToken, type Session } from './session';

type AuthState =
  | { state: 'signed-out'; notice: string | null }
  | { state: 'checking'; token: string }
  | { state: 'signed-in'; token: string; who: WhoAmI };

/** Signs in with an admin token (kept in sessionStorage), then shows the console for its role. */
export function App() {
  const [auth, setAuth] = useState<AuthState>(() => {
    const token = storedToken();
    return token ? { state: 'checking', token } : { state: 'signed-out', notice: null };
  });

  const signOut = useCallback((notice: string | null = null) => {
    forgetToken();
    setAuth({ state: 'signed-out', notice });
  }, []);

  // A token remembered from earlier in this tab: check it is still valid.
  const checkingToken = auth.state === 'checking' ? auth.token : null;
  useEffect(() => {
    if (checkingToken === null) return;
    let current = true;
    fetchWhoAmI<WhoAmI>(checkingToken).then(
      (who) => current && setAuth({ state: 'signed-in', token: checkingToken, who }),
      (err: unknown) => {
        if (!current) return;
        forgetToken();
        setAuth({ state: 'signed-out', notice: err instanceof ApiError && err.status === 401 ? 'Your admin token is no longer valid. Sign in again.' : messageOf(err) });
      },
    );
    return () => {
      current = false;
    };
  }, [checkingToken]);

  const token = auth.state === 'signed-in' ? auth.token : null;
  const who = auth.state === 'signed-in' ? auth.who : null;
  const session = useMemo<Session | null>(() => {
    if (token === null || who === null) return null;
    const api = createApiClient(token, () => signOut('Your admin token is no longer valid (revoked?). Sign in again.'));
    return { who, api, can: capabilitiesOf(who), signOut: () => signOut() };
  }, [token, who, signOut]);

  if (auth.state === 'checking') {
    return (
      <p className="loading" role="status">
        Signing in…
      </p>
    );
  }
  if (!session) {
    return (
      <SignIn
        notice={auth.state === 'signed-out' ? auth.notice : null}
        onSignedIn={(signedInToken, signedInWho) => {
          storeToken(signedInToken);
          setAuth({ state: 'signed-in', token: signedInToken, who: signedInWho });
        }}
      />
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <ToastProvider>
        <Layout>
          <Routes />
        </Layout>
      </ToastProvider>
    </SessionContext.Provider>
  );
}
