import { existsSync } from 'node:fs';
import { ipcMain, shell } from 'electron';
import { REVEAL_PATH_CHANNEL } from '../../shared/bridge';
import type { FerryConfig } from '../../shared/config';
import { revealDecision } from '../desktop/revealPolicy';
import { isTrustedSender } from './senderTrust';

/**
 * Serves the window's `revealPath`: Ferry's own window only, paths inside a configured folder or
 * local destination only (revealPolicy.ts), shown in the file manager, never opened. Answers whether
 * it was shown; returns the function that removes the handler.
 */
export function serveReveal(opts: {
  config: () => Pick<FerryConfig, 'folders' | 'destinations'>;
  renderer: { htmlPath: string; devServerUrl?: string | undefined };
}): () => void {
  ipcMain.handle(REVEAL_PATH_CHANNEL, (event, requested: unknown) => {
    if (!isTrustedSender(event.senderFrame?.url, opts.renderer))
      throw new Error('refused: the request does not come from Ferry’s window');
    const decision = revealDecision(requested, opts.config());
    if (!decision.ok || !existsSync(decision.path)) return false;
    shell.showItemInFolder(decision.path);
    return true;
  });
  return () => ipcMain.removeHandler(REVEAL_PATH_CHANNEL);
}
