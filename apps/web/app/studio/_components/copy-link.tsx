'use client';

import { useState } from 'react';

/** Copies a video's viewer link (falls back to showing it where the clipboard is not allowed). */
export function CopyLink({ videoId, title }: { videoId: string; title: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'shown'>('idle');
  const url = typeof window === 'undefined' ? `/live/${videoId}` : `${window.location.origin}/live/${videoId}`;
  return (
    <>
      <button
        type="button"
        aria-label={`Copy viewer link for ${title}`}
        onClick={() => {
          navigator.clipboard?.writeText(url).then(
            () => setState('copied'),
            () => setState('shown'),
          ) ?? setState('shown');
        }}
      >
        {state === 'copied' ? 'Copied' : 'Copy viewer link'}
      </button>
      {state === 'shown' && <input readOnly value={url} aria-label="Viewer link" onFocus={(e) => e.target.select()} />}
    </>
  );
}
