'use client';

import type { TPasskeyInfo, TSessionInfo } from '@ovation/shared';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { api, passkeyProblem } from '../../../lib/client/api';
import { queryKeys } from '../../../lib/client/query-client';
import { SignInGate } from '../../studio/_components/sign-in-gate';

/** The account page: display name, passkeys (add, remove), sessions (end any). */
export function AccountPage() {
  return (
    <>
      <header className="bar">
        <Link href="/" className="brand">
          Ovation
        </Link>
        <Link href="/studio">Studio</Link>
      </header>
      <h1>Your account</h1>
      <SignInGate why="Sign in with your account to see it.">
        {() => (
          <>
            <Profile />
            <Passkeys />
            <Sessions />
          </>
        )}
      </SignInGate>
    </>
  );
}

const accountKey = ['account'] as const;
const sessionsKey = ['account', 'sessions'] as const;

function Profile() {
  const queryClient = useQueryClient();
  const account = useQuery({ queryKey: accountKey, queryFn: api.account });
  const [name, setName] = useState<string>();
  const rename = useMutation({
    mutationFn: (next: string) => api.renameAccount(next),
    onSuccess: () => {
      setName(undefined);
      void queryClient.invalidateQueries({ queryKey: accountKey });
      void queryClient.invalidateQueries({ queryKey: queryKeys.session });
    },
  });
  if (!account.data) return <p>Loading…</p>;
  const shown = name ?? account.data.account.name;
  return (
    <section className="panel" aria-label="Profile">
      <p>
        Handle: <strong>@{account.data.account.handle}</strong>
      </p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (shown.trim()) rename.mutate(shown.trim());
        }}
      >
        <label htmlFor="profile-name">Display name</label>
        <input id="profile-name" maxLength={40} value={shown} onChange={(e) => setName(e.target.value)} />
        <button type="submit" disabled={rename.isPending}>
          Save name
        </button>
        {rename.isError && <p role="alert">{passkeyProblem(rename.error)}</p>}
      </form>
    </section>
  );
}

function Passkeys() {
  const queryClient = useQueryClient();
  const account = useQuery({ queryKey: accountKey, queryFn: api.account });
  const refresh = () => void queryClient.invalidateQueries({ queryKey: accountKey });
  const add = useMutation({ mutationFn: api.addPasskey, onSuccess: refresh });
  const remove = useMutation({ mutationFn: (id: string) => api.removePasskey(id), onSuccess: refresh });
  const passkeys = account.data?.passkeys ?? [];
  return (
    <section className="panel" aria-labelledby="passkeys-title">
      <h2 id="passkeys-title">Passkeys</h2>
      <ul aria-label="Your passkeys">
        {passkeys.map((passkey, i) => (
          <li key={passkey.id}>
            {passkeyLabel(passkey, i)}{' '}
            <button
              type="button"
              disabled={passkeys.length === 1 || remove.isPending}
              aria-label={`Remove ${passkeyLabel(passkey, i)}`}
              onClick={() => remove.mutate(passkey.id)}
            >
              Remove
            </button>
          </li>
        ))}
      </ul>
      <button type="button" disabled={add.isPending} onClick={() => add.mutate()}>
        Add a passkey
      </button>
      {(add.isError || remove.isError) && <p role="alert">{passkeyProblem(add.error ?? remove.error)}</p>}
    </section>
  );
}

function passkeyLabel(passkey: TPasskeyInfo, index: number): string {
  const added = new Date(passkey.createdAt).toLocaleDateString();
  const used = passkey.lastUsedAt ? `, last used ${new Date(passkey.lastUsedAt).toLocaleString()}` : '';
  return `Passkey ${index + 1} (added ${added}${used}${passkey.backedUp ? ', synced' : ''})`;
}

function Sessions() {
  const queryClient = useQueryClient();
  const sessions = useQuery({ queryKey: sessionsKey, queryFn: api.sessions });
  const end = useMutation({
    mutationFn: (session: TSessionInfo) => api.endSession(session.id),
    onSuccess: (_done, session) => {
      // Ending this browser's own session signs it out.
      void queryClient.invalidateQueries({ queryKey: session.current ? queryKeys.session : sessionsKey });
    },
  });
  return (
    <section className="panel" aria-labelledby="sessions-title">
      <h2 id="sessions-title">Signed-in sessions</h2>
      <ul aria-label="Your sessions">
        {sessions.data?.sessions.map((session) => (
          <li key={session.id}>
            {session.current ? <strong>This browser</strong> : session.agent} — since{' '}
            {new Date(session.createdAt).toLocaleString()}{' '}
            <button
              type="button"
              disabled={end.isPending}
              aria-label={session.current ? 'Sign out this browser' : `End session since ${session.createdAt}`}
              onClick={() => end.mutate(session)}
            >
              {session.current ? 'Sign out' : 'End'}
            </button>
          </li>
        ))}
      </ul>
      {end.isError && <p role="alert">{passkeyProblem(end.error)}</p>}
    </section>
  );
}
