import { REACTIONS, type TReaction, type TReactionCounts } from '@ovation/shared';

/*
 * The reactions as the viewer draws them: a white glyph on a coloured disc with a white rim and a
 * shadow, so each one reads on any picture (dark, bright or busy) and no two look alike. Inline
 * SVG, not emoji: the same drawing on every device, whatever its fonts.
 */

export const REACTION_INFO: Record<TReaction, { label: string; colour: string }> = {
  like: { label: 'Like', colour: '#0a66c2' },
  celebrate: { label: 'Celebrate', colour: '#2e7d32' },
  support: { label: 'Support', colour: '#7b3fb5' },
  love: { label: 'Love', colour: '#d62e4d' },
  insightful: { label: 'Insightful', colour: '#b25e00' },
  funny: { label: 'Funny', colour: '#00778a' },
};

/** The picker's reactions: all but `like`, which is the button next to it. */
export const PICKED_REACTIONS = REACTIONS.filter((reaction) => reaction !== 'like');

function Glyph({ reaction }: { reaction: TReaction }) {
  switch (reaction) {
    case 'like':
      return (
        <path d="M8 14h3v10H8zm5 10V14l4-6c.6-.9 2.2-.6 2.2.7V13h4.3c1.3 0 2.2 1.2 1.9 2.4l-1.8 6.8c-.3 1.1-1.2 1.8-2.3 1.8z" />
      );
    case 'celebrate':
      return <path d="M16 6l2.9 6.1 6.6.8-4.9 4.5 1.3 6.6-5.9-3.3-5.9 3.3 1.3-6.6-4.9-4.5 6.6-.8z" />;
    case 'support':
      return (
        <>
          <path d="M16 16.5s-5-3-5-6.4a2.6 2.6 0 0 1 5-1.1 2.6 2.6 0 0 1 5 1.1c0 3.4-5 6.4-5 6.4z" />
          <path d="M7 18.5h18v1.5a5.5 5.5 0 0 1-5.5 5.5h-7A5.5 5.5 0 0 1 7 20z" />
        </>
      );
    case 'love':
      return <path d="M16 25s-9-5.6-9-12.1a4.9 4.9 0 0 1 9-2.8 4.9 4.9 0 0 1 9 2.8C25 19.4 16 25 16 25z" />;
    case 'insightful':
      return (
        <>
          <circle cx="16" cy="13" r="6.5" />
          <rect x="12.8" y="19.5" width="6.4" height="5" rx="1.6" />
        </>
      );
    case 'funny':
      return (
        <>
          <path d="M9.5 17h13a6.5 6.5 0 0 1-13 0z" />
          <path d="M9.5 12.5l3 1.5-3 1.5M22.5 12.5l-3 1.5 3 1.5" fill="none" stroke="#fff" strokeWidth="1.8" />
        </>
      );
  }
}

/** A reaction's icon; decorative (the control or count around it carries the words). */
export function ReactionIcon({ reaction, size = 24 }: { reaction: TReaction; size?: number }) {
  return (
    <svg
      className="reaction-icon"
      data-reaction={reaction}
      viewBox="0 0 32 32"
      width={size}
      height={size}
      aria-hidden="true"
      focusable="false"
    >
      <circle cx="16" cy="16" r="15" fill={REACTION_INFO[reaction].colour} stroke="#fff" strokeWidth="2" />
      <g fill="#fff">
        <Glyph reaction={reaction} />
      </g>
    </svg>
  );
}

/** The reactions with a count, most first (ties in the order of REACTIONS). */
export function rankedReactions(counts: TReactionCounts | undefined): Array<[TReaction, number]> {
  return REACTIONS.map((reaction): [TReaction, number] => [reaction, counts?.[reaction] ?? 0])
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
}

/** `4 reactions: 3 Love, 1 Celebrate` — the words for a summary of counts. */
export function describeReactions(total: number, counts: TReactionCounts | undefined): string {
  const parts = rankedReactions(counts).map(([reaction, n]) => `${n} ${REACTION_INFO[reaction].label}`);
  const head = `${total} ${total === 1 ? 'reaction' : 'reactions'}`;
  return parts.length > 0 ? `${head}: ${parts.join(', ')}` : head;
}
