import { AppError } from '@ovation/shared';
import { notFound } from 'next/navigation';
import { loadWebConfig } from '../../../lib/server/config';
import { pageRealtimeToken } from '../../../lib/server/realtime-token';
import { findVideo } from '../../../lib/server/videos';
import { Viewer } from './_components/viewer';

export const dynamic = 'force-dynamic';

/**
 * `/live/<videoId>`: the viewer page; an unknown video is the 404 page (status 404). The realtime
 * node URLs come from the server's config, and the page comes with a connection token for the
 * video's topic (lib/server/realtime-token.ts); `?node=<index>` connects to that node first (to
 * try a given node or region, and for tests).
 */
export default async function LivePage({
  params,
  searchParams,
}: {
  params: Promise<{ videoId: string }>;
  searchParams: Promise<{ node?: string | string[] }>;
}) {
  const { videoId } = await params;
  if (!(await exists(videoId))) notFound();
  const { node } = await searchParams;
  const { realtimeUrls } = loadWebConfig();
  const preferredUrl = typeof node === 'string' && /^\d{1,3}$/.test(node) ? realtimeUrls[Number(node)] : undefined;
  return (
    <main className="page live-page">
      <Viewer
        videoId={videoId}
        realtimeUrls={[...realtimeUrls]}
        preferredUrl={preferredUrl}
        initialToken={await pageRealtimeToken(videoId)}
      />
    </main>
  );
}

/** Known to the store; a store that cannot answer now is no 404 (the page loads it itself). */
async function exists(videoId: string): Promise<boolean> {
  try {
    await findVideo(videoId);
    return true;
  } catch (error) {
    return !(error instanceof AppError && error.code === 'NOT_FOUND');
  }
}
