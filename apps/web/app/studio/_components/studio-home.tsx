'use client';

import { tokenFromWeb, VIDEOS_TOPIC } from '@ovation/client';
import { useTopic } from '@ovation/react';
import type { TVideo } from '@ovation/shared';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { ApiError, api } from '../../../lib/client/api';
import { queryKeys } from '../../../lib/client/query-client';
import { retryOnOutage, useActionKey } from '../../../lib/client/retry';
import { CopyLink } from './copy-link';
import { SignInGate } from './sign-in-gate';
import { StatusButton } from './status-button';

/** The studio's home: create a live video, then manage each of yours. */
export function StudioHome({ realtimeUrls }: { realtimeUrls: string[] }) {
  return (
    <>
      <header className="bar">
        <Link href="/" className="brand">
          Ovation
        </Link>
        <span>Studio</span>
      </header>
      <h1>Your live videos</h1>
      <SignInGate why="Broadcasting needs an account: sign in, or create one with a passkey, to create and run live videos.">
        {() => <MyVideos realtimeUrls={realtimeUrls} />}
      </SignInGate>
    </>
  );
}

function MyVideos({ realtimeUrls }: { realtimeUrls: string[] }) {
  const queryClient = useQueryClient();
  const videos = useQuery({ queryKey: queryKeys.myVideos, queryFn: api.myVideos, refetchInterval: 10_000 });
  const ids = videos.data?.videos.map((v) => v.id) ?? [];
  // Viewer counts and status changes made elsewhere (another tab) show up without a reload.
  useTopic(VIDEOS_TOPIC, {
    urls: realtimeUrls,
    types: ['status'],
    token: tokenFromWeb(),
    onEvent: (event) => {
      if (event.type === 'status' && ids.includes(event.data.videoId)) {
        void queryClient.invalidateQueries({ queryKey: queryKeys.myVideos });
      }
    },
  });
  return (
    <>
      <CreateVideo />
      {videos.isPending && (
        <div className="my-videos" role="status" aria-label="Loading your videos">
          <div className="panel skeleton-block" />
          <div className="panel skeleton-block" />
        </div>
      )}
      {videos.isError && <p role="alert">Could not load your videos. Retrying…</p>}
      {videos.data && videos.data.videos.length === 0 && <p>No videos yet: create one above.</p>}
      <ul className="my-videos" aria-label="Your videos">
        {videos.data?.videos.map((video) => (
          <VideoRow key={video.id} video={video} />
        ))}
      </ul>
    </>
  );
}

function CreateVideo() {
  const queryClient = useQueryClient();
  const [title, setTitle] = useState('');
  const [hlsUrl, setHlsUrl] = useState('');
  // Pressing Create again for the same video (after an error) reuses the key: one video, not two.
  const keys = useActionKey();
  const create = useMutation({
    mutationFn: (input: { title: string; hlsUrl: string | undefined; key: string }) =>
      api.createVideo(input.title, input.hlsUrl, input.key),
    ...retryOnOutage,
    onSuccess: (_, input) => {
      keys.done(JSON.stringify([input.title, input.hlsUrl]));
      setTitle('');
      setHlsUrl('');
      void queryClient.invalidateQueries({ queryKey: queryKeys.myVideos });
    },
  });
  return (
    <form
      className="panel create-video"
      onSubmit={(event) => {
        event.preventDefault();
        const input = { title: title.trim(), hlsUrl: hlsUrl.trim() || undefined };
        if (input.title) create.mutate({ ...input, key: keys.for(JSON.stringify([input.title, input.hlsUrl])) });
      }}
    >
      <label>
        Title
        <input value={title} onChange={(e) => setTitle(e.target.value)} maxLength={120} required />
      </label>
      <label>
        HLS URL <span className="hint">(empty: the bundled demo stream)</span>
        <input
          value={hlsUrl}
          onChange={(e) => setHlsUrl(e.target.value)}
          type="url"
          placeholder="https://…/live.m3u8"
        />
      </label>
      <button type="submit" className="primary" disabled={create.isPending}>
        Create live video
      </button>
      {create.isError && (
        <p role="alert">{create.error instanceof ApiError ? create.error.message : 'Could not create the video'}</p>
      )}
    </form>
  );
}

function VideoRow({ video }: { video: TVideo }) {
  return (
    <li className="panel video-row">
      <div>
        <span className={`badge ${video.status}`}>{video.status}</span>
        <h2>{video.title}</h2>
        <span className="stats">
          <span>{video.viewers} watching</span>
          <span>{video.likes} likes</span>
        </span>
      </div>
      <div className="actions">
        <StatusButton video={video} />
        <Link href={`/studio/${video.id}`} aria-label={`Dashboard for ${video.title}`}>
          Dashboard
        </Link>
        <CopyLink videoId={video.id} title={video.title} />
      </div>
    </li>
  );
}
