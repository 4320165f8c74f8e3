'use client';

import type { TUser } from '@ovation/shared';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { ApiError, api } from '../../../lib/client/api';
import { queryKeys } from '../../../lib/client/query-client';
import { AccountBar } from '../../_components/account-bar';
import { NameDialog } from '../../_components/name-dialog';

/** Renders `children(user)` for a signed-in user; otherwise asks for a display name first. */
export function SignInGate({ children, why }: { children: (user: TUser) => ReactNode; why: string }) {
  const queryClient = useQueryClient();
  const session = useQuery({ queryKey: queryKeys.session, queryFn: api.session });
  const [asking, setAsking] = useState(false);
  const [error, setError] = useState<string>();
  if (session.isPending) return <p>Loading…</p>;
  const user = session.data?.user;
  if (user)
    return (
      <>
        <AccountBar user={user} />
        {children(user)}
      </>
    );
  return (
    <section className="panel">
      <p>{why}</p>
      <button type="button" className="primary" onClick={() => setAsking(true)}>
        Sign in
      </button>
      {asking && (
        <NameDialog
          error={error}
          onCancel={() => setAsking(false)}
          onSubmit={(name) => {
            api.signIn(name).then(
              ({ user: signedIn }) => {
                queryClient.setQueryData(queryKeys.session, { user: signedIn });
                setAsking(false);
              },
              (e: unknown) => setError(e instanceof ApiError ? e.message : 'Could not sign in'),
            );
          }}
        />
      )}
    </section>
  );
}
