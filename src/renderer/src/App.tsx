import { QueryClientProvider } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { Nav } from './components/Nav';
import { bridge } from './lib/bridge';
import { useConfig } from './lib/config';
import { queryClient, useLiveInvalidation } from './lib/query';
import { PAGES, useRoute, type PageId } from './lib/route';
import { useTheme } from './lib/theme';
import { ActivityPage } from './pages/ActivityPage';
import { DestinationsPage } from './pages/DestinationsPage';
import { FoldersPage } from './pages/FoldersPage';
import { HistoryPage } from './pages/HistoryPage';
import { QueuePage } from './pages/QueuePage';
import { RulesPage } from './pages/RulesPage';
import { SettingsPage } from './pages/SettingsPage';
import { StatusPage } from './pages/StatusPage';

const VIEWS: Record<PageId, () => React.JSX.Element> = {
  status: StatusPage,
  queue: QueuePage,
  folders: FoldersPage,
  destinations: DestinationsPage,
  rules: RulesPage,
  history: HistoryPage,
  activity: ActivityPage,
  settings: SettingsPage,
};

function Shell(): React.JSX.Element {
  useLiveInvalidation();
  const config = useConfig();
  useTheme(config.data?.settings.theme);
  const page = useRoute();
  const View = VIEWS[page];
  const main = useRef<HTMLElement>(null);
  useEffect(() => {
    document.title = `${PAGES.find((p) => p.id === page)?.label ?? ''} · Ferry`;
    // Keyboard and screen-reader users land on the new page, not on the link they left.
    main.current?.focus({ preventScroll: true });
  }, [page]);
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Nav page={page} />
      <main id="main" className="shell__main" tabIndex={-1} ref={main}>
        <View />
      </main>
    </div>
  );
}

/** Shown in a browser opened without the daemon's address (which carries the token). */
function NotConnected(): React.JSX.Element {
  return (
    <main className="gate">
      <h1>Ferry</h1>
      <p>
        This window needs the address the daemon printed when it started: it carries a token that keeps other pages
        and programs out. Run <code>ferry daemon --config FILE</code> and open the <code>window:</code> address it
        shows.
      </p>
    </main>
  );
}

export function App(): React.JSX.Element {
  if (!bridge) return <NotConnected />;
  return (
    <QueryClientProvider client={queryClient}>
      <Shell />
    </QueryClientProvider>
  );
}
