import { useState } from 'react';
import type { BridgeError } from '../../../../shared/bridge';
import { ErrorNote } from '../../components/ui';
import { request } from '../../lib/bridge';

type Props = {
  appKey: string;
  /** The destination's `endpoint`, when it is not Dropbox itself. */
  endpoint: string;
  /** The keychain entry the refresh token goes to ('' until the destination has an id). */
  secret: string;
  connected: boolean;
  onConnected: (ref: string) => void;
};

type State = { kind: 'idle' } | { kind: 'waiting'; url: string } | { kind: 'failed'; error: BridgeError | Error };

/**
 * "Connect to Dropbox": Dropbox's consent page opens in the browser; once the person allows Ferry,
 * the engine keeps the refresh token in the keychain and the form gets its reference. No token is
 * ever typed, shown or sent to the window.
 */
export function DropboxConnect({ appKey, endpoint, secret, connected, onConnected }: Props): React.JSX.Element {
  const [state, setState] = useState<State>({ kind: 'idle' });
  const connect = async () => {
    try {
      const { attempt, url } = await request('dropbox:authorize', {
        app_key: appKey,
        ...(endpoint !== '' ? { endpoint } : {}),
        name: secret,
      });
      // In the app the address opens in the default browser (the window's open handler); here, a new tab.
      if (url !== '') window.open(url, '_blank', 'noopener,noreferrer');
      setState({ kind: 'waiting', url });
      const { ref } = await request('dropbox:finish', { attempt });
      setState({ kind: 'idle' });
      onConnected(ref);
    } catch (err) {
      setState({ kind: 'failed', error: err as BridgeError | Error });
    }
  };
  return (
    <div className="dest-connect">
      <div className="row">
        <button
          type="button"
          className="btn btn--primary"
          disabled={appKey === '' || secret === '' || state.kind === 'waiting'}
          onClick={() => void connect()}
        >
          {connected ? 'Connect to Dropbox again' : 'Connect to Dropbox'}
        </button>
        {(appKey === '' || secret === '') && (
          <span className="muted small">Give the destination its id and app key first.</span>
        )}
      </div>
      {state.kind === 'waiting' && (
        <p role="status" className="small">
          Waiting for you to allow Ferry in the browser…{' '}
          {state.url !== '' && (
            <a href={state.url} target="_blank" rel="noreferrer">
              Open Dropbox’s page again
            </a>
          )}
        </p>
      )}
      {state.kind === 'failed' && <ErrorNote error={state.error} title="Dropbox was not connected" />}
    </div>
  );
}
