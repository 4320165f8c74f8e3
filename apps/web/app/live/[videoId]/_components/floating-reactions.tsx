'use client';

import { REACTIONS, type TReaction, type TReactionCounts } from '@ovation/shared';
import { forwardRef, useCallback, useEffect, useImperativeHandle, useRef, useState } from 'react';
import { ReactionIcon } from './reactions';
import '../../reactions.css';

/*
 * Reactions floating up over the video. The viewer's own tap shows at once, before its request.
 * Other viewers' likes arrive in bursts (a like event carries a count, up to thousands a second on
 * a big stream): they go into a backlog per reaction that a short tick drains a couple of icons at
 * a time, each icon standing for a share of the backlog (drawn bigger the more it stands for) —
 * so a burst keeps flowing for a second or two instead of flooding the screen, and a trickle still
 * shows one icon per like. At most MAX_ON_SCREEN are animated at once (each is one element with a
 * compositor-only CSS animation; nothing runs per frame in script).
 */

const MAX_ON_SCREEN = 30;
/** The backlog is drained every TICK_MS, ICONS_PER_TICK icons at most (≈ 16 per second). */
const TICK_MS = 125;
const ICONS_PER_TICK = 2;
/** A backlog is spread over about this many icons, however big: a burst lasts ~1–2 s on screen. */
const ICONS_PER_BURST = 12;

export interface FloatingReactionsHandle {
  /** The viewer's own tap: one icon now. */
  own(reaction: TReaction): void;
  /** Other viewers' likes, per reaction. */
  others(byReaction: TReactionCounts): void;
}

interface Float {
  id: number;
  reaction: TReaction;
  own: boolean;
  /** How many likes this icon stands for (its size grows with it). */
  weight: number;
  drift: number;
}

export const FloatingReactions = forwardRef<FloatingReactionsHandle>(function FloatingReactions(_props, ref) {
  const [floats, setFloats] = useState<Float[]>([]);
  const nextId = useRef(0);
  const backlog = useRef<Map<TReaction, number>>(new Map());
  const ticker = useRef<ReturnType<typeof setInterval> | undefined>(undefined);

  const add = useCallback((items: Array<Omit<Float, 'id' | 'drift'>>) => {
    if (items.length === 0) return;
    setFloats((current) => {
      const added = items.map((item) => ({
        ...item,
        id: nextId.current++,
        drift: Math.round((Math.random() - 0.5) * 56),
      }));
      // The oldest make way (they are near the top, fading out already).
      return [...current, ...added].slice(-MAX_ON_SCREEN);
    });
  }, []);

  const drain = useCallback(() => {
    const pending = backlog.current;
    const total = [...pending.values()].reduce((sum, n) => sum + n, 0);
    if (total === 0) {
      clearInterval(ticker.current);
      ticker.current = undefined;
      return;
    }
    const weight = Math.max(1, Math.ceil(total / ICONS_PER_BURST));
    const items: Array<Omit<Float, 'id' | 'drift'>> = [];
    for (let i = 0; i < ICONS_PER_TICK; i++) {
      const reaction = biggest(pending);
      if (!reaction) break;
      const n = Math.min(weight, pending.get(reaction) ?? 0);
      const left = (pending.get(reaction) ?? 0) - n;
      if (left > 0) pending.set(reaction, left);
      else pending.delete(reaction);
      items.push({ reaction, own: false, weight: n });
    }
    add(items);
  }, [add]);

  useEffect(() => () => clearInterval(ticker.current), []);

  useImperativeHandle(
    ref,
    () => ({
      own: (reaction) => add([{ reaction, own: true, weight: 1 }]),
      others: (byReaction) => {
        for (const reaction of REACTIONS) {
          const n = byReaction[reaction] ?? 0;
          if (n > 0) backlog.current.set(reaction, (backlog.current.get(reaction) ?? 0) + n);
        }
        if (ticker.current === undefined) {
          drain(); // the first icons of a burst at once
          ticker.current = setInterval(drain, TICK_MS);
        }
      },
    }),
    [add, drain],
  );

  const remove = (id: number) => setFloats((current) => current.filter((f) => f.id !== id));

  return (
    <div className="floating-reactions" aria-hidden="true" data-testid="floating-reactions">
      {floats.map((f) => (
        <span
          key={f.id}
          className={f.own ? 'float own' : 'float'}
          data-reaction={f.reaction}
          style={{
            ['--drift' as string]: `${f.drift}px`,
            // 1 like: 1×; a hundred: about 1.6×.
            ['--scale' as string]: String(Math.min(1.7, 1 + Math.log10(f.weight) * 0.3)),
            right: `${18 + f.drift / 3}px`,
          }}
          onAnimationEnd={() => remove(f.id)}
        >
          <ReactionIcon reaction={f.reaction} size={f.own ? 36 : 30} />
        </span>
      ))}
    </div>
  );
});

/** The reaction with the most waiting (so a mixed burst shows each in proportion over its ticks). */
function biggest(pending: Map<TReaction, number>): TReaction | undefined {
  let best: TReaction | undefined;
  for (const [reaction, n] of pending)
    if (n > 0 && (best === undefined || n > (pending.get(best) ?? 0))) best = reaction;
  return best;
}
