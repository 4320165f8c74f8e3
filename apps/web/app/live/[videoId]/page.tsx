import { loadWebConfig } from '../../../lib/server/config';
import { Viewer } from './_components/viewer';

export const dynamic = 'force-dynamic';

/** `/live/<videoId>`: the viewer page. The realtime node URLs come from the server's config. */
export default async function LivePage({ params }: { params: Promise<{ videoId: string }> }) {
  const { videoId } = await params;
  const { realtimeUrls } = loadWebConfig();
  return (
    <main className="page">
      <Viewer videoId={videoId} realtimeUrls={[...realtimeUrls]} />
    </main>
  );
}
