// What the preload exposes as `window.ferry` (mirrors FerryBridge in src/preload/index.ts).
// Placeholder: the typed contract from src/shared replaces it in a later issue.
type FerryBridge = {
  readonly version: string;
  readonly platform: string;
};

interface Window {
  readonly ferry: FerryBridge | undefined;
}
