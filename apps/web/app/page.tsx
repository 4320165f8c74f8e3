import Link from 'next/link';
import { loadWebConfig } from '../lib/server/config';
import { pageRealtimeToken } from '../lib/server/realtime-token';
import { LiveNow } from './_components/live-now';

export const dynamic = 'force-dynamic';

/** `/`: videos live now and recently ended. */
export default async function HomePage() {
  const { realtimeUrls } = loadWebConfig();
  return (
    <main className="page">
      <header className="bar">
        <span className="brand">Ovation</span>
        <Link href="/studio">Go live</Link>
      </header>
      <h1>Live now</h1>
      <LiveNow realtimeUrls={[...realtimeUrls]} initialToken={await pageRealtimeToken()} />
    </main>
  );
}
