'use client';

import { useState } from 'react';

/** Asks a signed-out viewer for a display name (1–40 characters) before liking or commenting. */
export function NameDialog({
  onSubmit,
  onCancel,
  error,
}: {
  onSubmit: (name: string) => void;
  onCancel: () => void;
  error?: string | undefined;
}) {
  const [name, setName] = useState('');
  return (
    <div className="dialog-backdrop">
      <form
        className="dialog"
        role="dialog"
        aria-modal="true"
        aria-label="Choose a display name"
        onSubmit={(event) => {
          event.preventDefault();
          if (name.trim()) onSubmit(name.trim());
        }}
      >
        <label htmlFor="display-name">Your display name</label>
        <input
          id="display-name"
          // biome-ignore lint/a11y/noAutofocus: the dialog exists to ask for this one field
          autoFocus
          maxLength={40}
          value={name}
          onChange={(e) => setName(e.target.value)}
          aria-label="Display name"
        />
        {error && <p role="alert">{error}</p>}
        <div className="actions">
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" className="primary">
            Continue
          </button>
        </div>
      </form>
    </div>
  );
}
