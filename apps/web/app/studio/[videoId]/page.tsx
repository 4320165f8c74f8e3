import { loadWebConfig } from '../../../lib/server/config';
import { Dashboard } from './_components/dashboard';
import '../studio.css';

export const dynamic = 'force-dynamic';

/** `/studio/<videoId>`: the live dashboard and moderation for the video's owner. */
export default async function DashboardPage({ params }: { params: Promise<{ videoId: string }> }) {
  const { videoId } = await params;
  const { realtimeUrls } = loadWebConfig();
  return (
    <main className="page studio">
      <Dashboard videoId={videoId} realtimeUrls={[...realtimeUrls]} />
    </main>
  );
}
