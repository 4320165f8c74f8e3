'use client';

import type { TUser } from '@ovation/shared';
import { useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { ApiError, api } from '../../lib/client/api';
import { queryKeys } from '../../lib/client/query-client';

/**
 * "Signed in as <name>" (with the account's handle and a link to its page) and a Sign out button:
 * the server clears the cookie and ends the session, so a copy of the cookie left on a shared
 * computer stops working too.
 */
export function AccountBar({ user, handle }: { user: TUser; handle?: string | undefined }) {
  const queryClient = useQueryClient();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  return (
    <p className="account-bar">
      Signed in as <strong>{user.name}</strong>
      {handle ? (
        <>
          {' '}
          (@{handle}) <Link href="/account">Account</Link>
        </>
      ) : (
        ' (guest)'
      )}{' '}
      <button
        type="button"
        disabled={busy}
        onClick={() => {
          setBusy(true);
          api.signOut().then(
            () => {
              queryClient.setQueryData(queryKeys.session, { user: null });
              void queryClient.invalidateQueries();
              setBusy(false);
            },
            (e: unknown) => {
              setError(e instanceof ApiError ? e.message : 'Could not sign out');
              setBusy(false);
            },
          );
        }}
      >
        Sign out
      </button>
      {error && <span role="alert"> {error}</span>}
    </p>
  );
}
