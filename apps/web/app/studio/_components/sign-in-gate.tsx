'use client';

import type { TUser } from '@ovation/shared';
import { useQuery } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { api } from '../../../lib/client/api';
import { queryKeys } from '../../../lib/client/query-client';
import { AccountBar } from '../../_components/account-bar';
import { AccountDialog } from '../../_components/account-dialog';

/**
 * Renders `children(user)` for someone signed in with an account (broadcasting needs one);
 * otherwise offers the sign-in dialog. A guest (a display name only) is told why, and creating
 * an account from here keeps their identity.
 */
export function SignInGate({ children, why }: { children: (user: TUser) => ReactNode; why: string }) {
  const session = useQuery({ queryKey: queryKeys.session, queryFn: api.session });
  const [asking, setAsking] = useState(false);
  if (session.isPending)
    return <div className="panel skeleton-block" role="status" aria-label="Loading your account" />;
  const user = session.data?.user ?? undefined;
  const account = session.data?.account;
  if (user && account)
    return (
      <>
        <AccountBar user={user} handle={account.handle} />
        {children(user)}
      </>
    );
  return (
    <section className="panel">
      {user && <AccountBar user={user} />}
      <p>{why}</p>
      <button type="button" className="primary" onClick={() => setAsking(true)}>
        Sign in
      </button>
      {asking && (
        <AccountDialog
          why={why}
          guestName={user?.name}
          onCancel={() => setAsking(false)}
          onDone={() => setAsking(false)}
        />
      )}
    </section>
  );
}
