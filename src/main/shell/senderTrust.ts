import { pathToFileURL } from 'node:url';

/**
 * Whether an IPC message comes from Ferry's own window: the built renderer's index.html, or the
 * dev server in development. Any other frame (a navigation that slipped through, an injected
 * iframe) is refused before its input is even validated.
 */
export function isTrustedSender(
  senderUrl: string | undefined,
  renderer: { htmlPath: string; devServerUrl?: string | undefined },
): boolean {
  if (!senderUrl) return false;
  let url: URL;
  try {
    url = new URL(senderUrl);
  } catch {
    return false;
  }
  if (renderer.devServerUrl !== undefined) return url.origin === new URL(renderer.devServerUrl).origin;
  const expected = pathToFileURL(renderer.htmlPath);
  return url.protocol === 'file:' && url.pathname === expected.pathname;
}
