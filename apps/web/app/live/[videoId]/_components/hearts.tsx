'use client';

import { forwardRef, useCallback, useImperativeHandle, useRef, useState } from 'react';

/** Hearts on screen at once, at most: 1,000 likes/s must stay smooth. */
const MAX_HEARTS = 40;
/** New hearts per second for other viewers' likes, at most. */
const MAX_OTHER_HEARTS_PER_SECOND = 12;

export interface HeartsHandle {
  /** One heart for the viewer's own tap, at once. */
  own(): void;
  /** Hearts for `count` likes from others: proportional to the rate, capped. */
  others(count: number): void;
}

interface Heart {
  id: number;
  own: boolean;
  drift: number;
}

export const Hearts = forwardRef<HeartsHandle>(function Hearts(_props, ref) {
  const [hearts, setHearts] = useState<Heart[]>([]);
  const nextId = useRef(0);
  const budget = useRef({ second: 0, used: 0 });

  const spawn = useCallback((own: boolean, n: number) => {
    if (n <= 0) return;
    setHearts((current) => {
      const added = Array.from({ length: n }, () => ({
        id: nextId.current++,
        own,
        drift: Math.round((Math.random() - 0.5) * 60),
      }));
      return [...current, ...added].slice(-MAX_HEARTS);
    });
  }, []);

  useImperativeHandle(
    ref,
    () => ({
      own: () => spawn(true, 1),
      others: (count: number) => {
        const second = Math.floor(Date.now() / 1000);
        if (budget.current.second !== second) budget.current = { second, used: 0 };
        const n = Math.min(count, MAX_OTHER_HEARTS_PER_SECOND - budget.current.used);
        budget.current.used += Math.max(0, n);
        spawn(false, n);
      },
    }),
    [spawn],
  );

  const remove = (id: number) => setHearts((current) => current.filter((h) => h.id !== id));

  return (
    <div className="hearts" aria-hidden="true">
      {hearts.map((heart) => (
        <span
          key={heart.id}
          className={heart.own ? 'heart own' : 'heart'}
          style={{ ['--drift' as string]: `${heart.drift}px`, right: `${20 + heart.drift / 3}px` }}
          onAnimationEnd={() => remove(heart.id)}
        >
          <svg viewBox="0 0 32 32" width="1em" height="1em" role="presentation">
            <path
              fill={heart.own ? '#ff3d6e' : '#ff8fab'}
              d="M16 28s-11-6.9-11-15a6 6 0 0 1 11-3.4A6 6 0 0 1 27 13c0 8.1-11 15-11 15z"
            />
          </svg>
        </span>
      ))}
    </div>
  );
});
