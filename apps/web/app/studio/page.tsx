import { loadWebConfig } from '../../lib/server/config';
import { StudioHome } from './_components/studio-home';
import './studio.css';

export const dynamic = 'force-dynamic';

/** `/studio`: the broadcaster's videos — create, go live, end, share, open a dashboard. */
export default function StudioPage() {
  const { realtimeUrls } = loadWebConfig();
  return (
    <main className="page studio">
      <StudioHome realtimeUrls={[...realtimeUrls]} />
    </main>
  );
}
