import { useEffect, useRef } from 'react';
import type { Settings } from '../../../shared/config';

/** `system` follows the OS (and its changes) through CSS; light and dark are set on the root. */
export function applyTheme(theme: Settings['theme'] | undefined): void {
  const root = document.documentElement;
  if (!theme || theme === 'system') delete root.dataset['theme'];
  else root.dataset['theme'] = theme;
}

/** Applies the theme chosen in settings. */
export function useTheme(theme: Settings['theme'] | undefined): void {
  useEffect(() => applyTheme(theme), [theme]);
}

/**
 * Shows the theme being chosen before it is saved; leaving the page without saving puts the saved one back.
 */
export function useThemePreview(draft: Settings['theme'] | undefined, saved: Settings['theme'] | undefined): void {
  const kept = useRef(saved);
  useEffect(() => {
    kept.current = saved;
  }, [saved]);
  useEffect(() => {
    if (draft) applyTheme(draft);
  }, [draft]);
  useEffect(() => () => applyTheme(kept.current), []);
}
