'use client';

import type { TopicConnection } from '@ovation/react';
import { useEffect, useState } from 'react';

/** Not connected for this long before the banner shows: a quick reconnect goes unnoticed. */
const GRACE_MS = 3000;

/**
 * "Reconnecting…" while the realtime stream has not been open for GRACE_MS (a node lost, the
 * network down); gone as soon as it is open again. A hidden page's paused stream is by design,
 * not trouble. The region is always there (empty when all is well) so that its one message is
 * announced once when it appears.
 */
export function ConnectionBanner({ status }: { status: TopicConnection['status'] }) {
  const [late, setLate] = useState(false);
  const troubled = status !== 'open' && status !== 'paused';

  useEffect(() => {
    if (!troubled) {
      setLate(false);
      return;
    }
    const timer = setTimeout(() => setLate(true), GRACE_MS);
    return () => clearTimeout(timer);
  }, [troubled]);

  return (
    <div className="connection-banner" role="status" data-visible={late && troubled}>
      {late && troubled && (
        <>
          <span className="spinner" aria-hidden="true" />
          Reconnecting to live updates…
        </>
      )}
    </div>
  );
}
