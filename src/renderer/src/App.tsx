export function App(): React.JSX.Element {
  // `window.ferry` is absent when the page is opened outside Electron (e.g. served by a plain dev server).
  const bridge = window.ferry;
  return (
    <main className="app">
      <h1 className="app__title">Ferry</h1>
      <p className="app__lead">
        The window — queues, folders, rules and history — comes in a later release; today the sync engine runs through
        the <code>ferry</code> command-line tool.
      </p>
      {bridge !== undefined && (
        <p className="app__meta">
          Version {bridge.version} · {bridge.platform}
        </p>
      )}
    </main>
  );
}
