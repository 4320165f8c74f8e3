import Link from 'next/link';
import { loadWebConfig } from '../lib/server/config';
import { pageRealtimeToken } from '../lib/server/realtime-token';
import { LiveNow } from './_components/live-now';
import './home.css';

export const dynamic = 'force-dynamic';

/** `/`: videos live now, then the ones that ended. */
export default async function HomePage() {
  const { realtimeUrls } = loadWebConfig();
  return (
    <main className="page home">
      <header className="bar">
        <span className="brand">Ovation</span>
        <Link href="/studio" className="home-go-live">
          Go live
        </Link>
      </header>
      <h1 className="visually-hidden">Ovation: live videos</h1>
      <LiveNow realtimeUrls={[...realtimeUrls]} initialToken={await pageRealtimeToken()} />
    </main>
  );
}
