'use client';

import type { TComment } from '@ovation/shared';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ApiError, api } from '../../../../lib/client/api';
import { queryKeys } from '../../../../lib/client/query-client';
import { retryOnOutage } from '../../../../lib/client/retry';
import { ConfirmDialog } from '../../_components/confirm-dialog';
import { BanAction, useBans } from './bans';

/**
 * The moderation log: recent comments, newest first, each with Delete (after a confirmation) and
 * Ban. A comment deleted from here stays in the log, marked deleted, so that its author can still
 * be banned: deleting the message and then barring whoever wrote it is the usual order. (This
 * page's memory: the API lists no deleted comments, so after a reload the log shows the live ones.)
 */
export function Moderation({ videoId, ownerId }: { videoId: string; ownerId: string }) {
  const queryClient = useQueryClient();
  const comments = useQuery({ queryKey: queryKeys.comments(videoId), queryFn: () => api.comments(videoId) });
  const bans = useBans(videoId);
  const [deleted, setDeleted] = useState<TComment[]>([]);
  const [asking, setAsking] = useState<TComment>();
  // Deleting is idempotent by what it names, so it retries through an outage as is.
  const remove = useMutation({
    mutationFn: (comment: TComment) => api.deleteComment(videoId, comment.id),
    ...retryOnOutage,
    onSuccess: (_, comment) => {
      setDeleted((list) => (list.some((c) => c.id === comment.id) ? list : [...list, comment]));
      queryClient.setQueryData<{ comments: TComment[] }>(queryKeys.comments(videoId), (old) =>
        old ? { comments: old.comments.filter((c) => c.id !== comment.id) } : old,
      );
    },
  });
  const { ban, unban } = bans;
  const error = [remove.error, ban.error, unban.error].find((e) => e);
  const shown = new Set(comments.data?.comments.map((c) => c.id));
  const log = [
    ...(comments.data?.comments ?? []).map((comment) => ({ comment, deleted: false })),
    ...deleted.filter((c) => !shown.has(c.id)).map((comment) => ({ comment, deleted: true })),
  ].sort((a, b) => b.comment.at.localeCompare(a.comment.at));
  return (
    <section className="panel moderation" aria-labelledby="moderation-title">
      <h2 id="moderation-title">Moderation</h2>
      {error && <p role="alert">{error instanceof ApiError ? error.message : 'That did not work; try again.'}</p>}
      <h3 id="recent-comments">Recent comments</h3>
      {comments.isPending && <p className="hint">Loading comments…</p>}
      {comments.data && log.length === 0 && <p className="hint">No comments yet.</p>}
      <ul aria-labelledby="recent-comments" className="moderation-log">
        {log.map(({ comment: c, deleted: gone }) => (
          <li key={c.id} className={gone ? 'deleted' : undefined}>
            <span className="author">{c.author.name}</span>
            <span className="text">{c.text}</span>
            {gone && <span className="deleted-mark">Deleted</span>}
            <span className="actions">
              {!gone && (
                <button
                  type="button"
                  onClick={() => setAsking(c)}
                  disabled={remove.isPending && remove.variables.id === c.id}
                  aria-label={`Delete comment “${c.text}”`}
                >
                  Delete
                </button>
              )}
              <BanAction user={c.author} ownerId={ownerId} bans={bans} />
            </span>
          </li>
        ))}
      </ul>
      {(bans.list.data?.bans.length ?? 0) > 0 && (
        <>
          <h3 id="banned-users">Banned from commenting</h3>
          <ul aria-label="Banned users" className="moderation-bans">
            {bans.list.data?.bans.map((b) => (
              <li key={b.id}>
                <span className="author">{b.name}</span>
                <button
                  type="button"
                  onClick={() => unban.mutate(b.id)}
                  disabled={unban.isPending && unban.variables === b.id}
                  aria-label={`Unban ${b.name}`}
                >
                  Unban
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
      <ConfirmDialog
        open={asking !== undefined}
        title="Delete this comment?"
        confirmLabel="Delete comment"
        onCancel={() => setAsking(undefined)}
        onConfirm={() => {
          if (asking) remove.mutate(asking);
          setAsking(undefined);
        }}
      >
        {asking && (
          <p>
            “{asking.text}” by {asking.author.name} disappears for every viewer. You can still ban {asking.author.name}{' '}
            afterwards from the log.
          </p>
        )}
      </ConfirmDialog>
    </section>
  );
}
