import { useEffect } from 'react';
import type { Settings } from '../../../shared/config';

/** Applies the theme chosen in settings; `system` follows the OS (and its changes) through CSS. */
export function useTheme(theme: Settings['theme'] | undefined): void {
  useEffect(() => {
    const root = document.documentElement;
    if (!theme || theme === 'system') delete root.dataset['theme'];
    else root.dataset['theme'] = theme;
  }, [theme]);
}
