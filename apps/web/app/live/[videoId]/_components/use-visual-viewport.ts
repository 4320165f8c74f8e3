'use client';

import { useEffect, useRef } from 'react';

/**
 * Keeps `--vvh` on the element at the visual viewport's height: what is left above a phone's
 * on-screen keyboard (iOS Safari shrinks only the visual viewport, not `dvh`), so the page can
 * keep its composer in sight while typing.
 */
export function useVisualViewportHeight<T extends HTMLElement>() {
  const ref = useRef<T>(null);
  useEffect(() => {
    const viewport = window.visualViewport;
    const element = ref.current;
    if (!viewport || !element) return;
    const update = () => element.style.setProperty('--vvh', `${Math.round(viewport.height)}px`);
    update();
    viewport.addEventListener('resize', update);
    return () => viewport.removeEventListener('resize', update);
  }, []);
  return ref;
}
