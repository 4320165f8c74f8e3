'use client';

import { HANDLE_PATTERN } from '@ovation/shared';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, passkeyProblem } from '../../lib/client/api';

/**
 * The one sign-in dialog: sign in with a passkey, or create an account with one (a display name
 * and a handle, no password). A guest who creates an account keeps their identity (their comments
 * and any videos): the server upgrades the guest's session.
 */
export function AccountDialog({
  why,
  guestName,
  onDone,
  onCancel,
}: {
  why: string;
  guestName?: string | undefined;
  onDone: () => void;
  onCancel: () => void;
}) {
  const queryClient = useQueryClient();
  const [name, setName] = useState(guestName ?? '');
  const [handle, setHandle] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const run = (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    action().then(
      async () => {
        // Everything shown for the previous identity (videos, tokens) is read again.
        await queryClient.invalidateQueries();
        setBusy(false);
        onDone();
      },
      (e: unknown) => {
        setError(passkeyProblem(e));
        setBusy(false);
      },
    );
  };
  const handleValid = HANDLE_PATTERN.test(handle);

  return (
    <div className="dialog-backdrop">
      <div className="dialog account-dialog" role="dialog" aria-modal="true" aria-labelledby="account-dialog-title">
        <h2 id="account-dialog-title">Sign in to Ovation</h2>
        <p>{why}</p>
        <button type="button" className="primary" disabled={busy} onClick={() => run(api.signInWithPasskey)}>
          Sign in with a passkey
        </button>
        <form
          aria-label="Create an account"
          onSubmit={(event) => {
            event.preventDefault();
            if (name.trim() && handleValid) run(() => api.signUp(name.trim(), handle));
          }}
        >
          <h3>New here? Create an account</h3>
          <label htmlFor="account-name">Display name</label>
          <input
            id="account-name"
            maxLength={40}
            value={name}
            autoComplete="name"
            onChange={(e) => setName(e.target.value)}
          />
          <label htmlFor="account-handle">Handle</label>
          <input
            id="account-handle"
            maxLength={20}
            value={handle}
            autoComplete="username webauthn"
            aria-describedby="account-handle-hint"
            aria-invalid={handle.length > 0 && !handleValid}
            onChange={(e) => setHandle(e.target.value)}
          />
          <small id="account-handle-hint">3–20 letters, digits or _ — unique on Ovation.</small>
          <p className="hint">No password: your device (fingerprint, face or PIN) keeps a passkey for Ovation.</p>
          {error && <p role="alert">{error}</p>}
          <div className="actions">
            <button type="button" onClick={onCancel} disabled={busy}>
              Cancel
            </button>
            <button type="submit" disabled={busy || !name.trim() || !handleValid}>
              Create account
            </button>
          </div>
        </form>
      </div>
    </div>
  );
}
