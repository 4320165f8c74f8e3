'use client';

import type { TReaction } from '@ovation/shared';
import { type KeyboardEvent, useEffect, useId, useRef, useState } from 'react';
import { PICKED_REACTIONS, REACTION_INFO, ReactionIcon } from './reactions';
import '../../reactions.css';

/** A press held this long on the Like button (touch) opens the picker instead of liking. */
const LONG_PRESS_MS = 450;
/** The mouse resting on Like this long opens the picker; leaving the controls this long closes it. */
const HOVER_OPEN_MS = 500;
const HOVER_CLOSE_MS = 350;
const STEPS: Record<string, number> = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };

/**
 * Like, and the other reactions in a picker: long-press Like on a touch screen, rest the mouse on
 * it, or use the "More reactions" button next to it (keyboard: Enter or Space, then the arrow keys,
 * Home and End across the reactions — a toolbar with one tab stop —, Escape to close). The picker
 * stays open for repeated taps, as a live audience taps.
 */
export function ReactionControls({ onReact, disabled }: { onReact: (reaction: TReaction) => void; disabled: boolean }) {
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const pickerId = useId();
  const root = useRef<HTMLDivElement>(null);
  const more = useRef<HTMLButtonElement>(null);
  const items = useRef<Array<HTMLButtonElement | null>>([]);
  const pressTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const hoverTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  /** A long press opened the picker: the click that ends it is not a like. */
  const longPressed = useRef(false);
  /** Move the focus into the picker once it renders (opened from the keyboard or More). */
  const focusOnOpen = useRef(false);

  useEffect(
    () => () => {
      clearTimeout(pressTimer.current);
      clearTimeout(hoverTimer.current);
    },
    [],
  );

  useEffect(() => {
    if (disabled) setOpen(false);
  }, [disabled]);

  // Closes on a press anywhere else, and on Escape (the focus, if it was in the controls, goes to
  // "More reactions").
  useEffect(() => {
    if (!open) return;
    const outside = (event: PointerEvent) => {
      if (!root.current?.contains(event.target as Node)) setOpen(false);
    };
    const onEscape = (event: globalThis.KeyboardEvent) => {
      if (event.key !== 'Escape') return;
      event.preventDefault();
      setOpen(false);
      if (root.current?.contains(document.activeElement)) more.current?.focus();
    };
    document.addEventListener('pointerdown', outside);
    document.addEventListener('keydown', onEscape);
    return () => {
      document.removeEventListener('pointerdown', outside);
      document.removeEventListener('keydown', onEscape);
    };
  }, [open]);

  // The mouse leaving the controls closes a picker it opened; the focus leaving them closes it too.
  useEffect(() => {
    const element = root.current;
    if (!element) return;
    const enter = () => clearTimeout(hoverTimer.current);
    const leave = (event: PointerEvent) => {
      if (event.pointerType === 'mouse') hover(false);
    };
    const focusOut = (event: FocusEvent) => {
      const to = event.relatedTarget as Node | null;
      if (to !== null && !element.contains(to)) setOpen(false);
    };
    element.addEventListener('pointerenter', enter);
    element.addEventListener('pointerleave', leave);
    element.addEventListener('focusout', focusOut);
    return () => {
      element.removeEventListener('pointerenter', enter);
      element.removeEventListener('pointerleave', leave);
      element.removeEventListener('focusout', focusOut);
    };
  });

  useEffect(() => {
    if (open && focusOnOpen.current) {
      focusOnOpen.current = false;
      items.current[active]?.focus();
    }
  }, [open, active]);

  const show = (focus: boolean) => {
    focusOnOpen.current = focus;
    setActive(0);
    setOpen(true);
  };

  // A toolbar: one tab stop, the arrow keys (wrapping), Home and End move along it.
  const move = (event: KeyboardEvent<HTMLDivElement>) => {
    const count = PICKED_REACTIONS.length;
    const step = STEPS[event.key];
    const next =
      event.key === 'Home'
        ? 0
        : event.key === 'End'
          ? count - 1
          : step === undefined
            ? undefined
            : (active + step + count) % count;
    if (next === undefined) return;
    event.preventDefault();
    setActive(next);
    items.current[next]?.focus();
  };

  const hover = (entering: boolean) => {
    clearTimeout(hoverTimer.current);
    if (disabled) return;
    hoverTimer.current = entering
      ? setTimeout(() => show(false), HOVER_OPEN_MS)
      : setTimeout(() => {
          // Not while the keyboard is in it.
          if (!root.current?.querySelector(':focus-visible')) setOpen(false);
        }, HOVER_CLOSE_MS);
  };

  return (
    <div className="reaction-controls" ref={root}>
      <button
        type="button"
        className="like-button"
        disabled={disabled}
        onClick={() => {
          if (longPressed.current) {
            longPressed.current = false;
            return;
          }
          onReact('like');
        }}
        onPointerDown={(e) => {
          if (e.pointerType === 'mouse' || disabled) return;
          longPressed.current = false;
          clearTimeout(pressTimer.current);
          pressTimer.current = setTimeout(() => {
            longPressed.current = true;
            show(false);
          }, LONG_PRESS_MS);
        }}
        onPointerEnter={(e) => e.pointerType === 'mouse' && !open && hover(true)}
        onPointerUp={() => clearTimeout(pressTimer.current)}
        onPointerCancel={() => clearTimeout(pressTimer.current)}
        // A long press on a phone would open the browser's own menu.
        onContextMenu={(e) => e.preventDefault()}
      >
        <ReactionIcon reaction="like" size={22} />
        <span>Like</span>
      </button>
      <button
        type="button"
        className="more-reactions"
        ref={more}
        aria-label="More reactions"
        aria-expanded={open}
        aria-controls={open ? pickerId : undefined}
        disabled={disabled}
        onClick={() => (open ? setOpen(false) : show(true))}
      >
        <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
          <circle cx="12" cy="12" r="9" fill="none" stroke="currentColor" strokeWidth="2" />
          <circle cx="9" cy="10" r="1.3" fill="currentColor" />
          <circle cx="15" cy="10" r="1.3" fill="currentColor" />
          <path d="M8 14a4.5 4.5 0 0 0 8 0" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" />
        </svg>
      </button>
      {open && (
        <div
          id={pickerId}
          className="reaction-picker"
          role="toolbar"
          aria-label="Reactions"
          aria-orientation="horizontal"
          onKeyDown={move}
        >
          {PICKED_REACTIONS.map((reaction, i) => (
            <button
              key={reaction}
              type="button"
              ref={(el) => {
                items.current[i] = el;
              }}
              tabIndex={i === active ? 0 : -1}
              aria-label={REACTION_INFO[reaction].label}
              data-label={REACTION_INFO[reaction].label}
              onFocus={() => setActive(i)}
              onClick={() => onReact(reaction)}
            >
              <ReactionIcon reaction={reaction} size={40} />
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
