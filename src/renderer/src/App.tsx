import { QueryClientProvider } from '@tanstack/react-query';
import { lazy, Suspense, useEffect, useRef, type LazyExoticComponent } from 'react';
import { Nav } from './components/Nav';
import { bridge } from './lib/bridge';
import { useConfig } from './lib/config';
import { queryClient, useLiveInvalidation } from './lib/query';
import { PAGES, useRoute, type PageId } from './lib/route';
import { useTheme } from './lib/theme';
import { isFirstRun } from './pages/welcome/welcomeConfig';

// Each page is its own chunk: the window opens without loading the chart library or the rule editor.
const VIEWS: Record<PageId, LazyExoticComponent<() => React.JSX.Element>> = {
  status: lazy(() => import('./pages/StatusPage').then((m) => ({ default: m.StatusPage }))),
  queue: lazy(() => import('./pages/QueuePage').then((m) => ({ default: m.QueuePage }))),
  conflicts: lazy(() => import('./pages/ConflictsPage').then((m) => ({ default: m.ConflictsPage }))),
  folders: lazy(() => import('./pages/FoldersPage').then((m) => ({ default: m.FoldersPage }))),
  destinations: lazy(() => import('./pages/DestinationsPage').then((m) => ({ default: m.DestinationsPage }))),
  rules: lazy(() => import('./pages/RulesPage').then((m) => ({ default: m.RulesPage }))),
  history: lazy(() => import('./pages/HistoryPage').then((m) => ({ default: m.HistoryPage }))),
  versions: lazy(() => import('./pages/VersionsPage').then((m) => ({ default: m.VersionsPage }))),
  activity: lazy(() => import('./pages/ActivityPage').then((m) => ({ default: m.ActivityPage }))),
  settings: lazy(() => import('./pages/SettingsPage').then((m) => ({ default: m.SettingsPage }))),
};
const Welcome = lazy(() => import('./pages/welcome/WelcomeFlow').then((m) => ({ default: m.WelcomeFlow })));

function Shell(): React.JSX.Element {
  useLiveInvalidation();
  const config = useConfig();
  useTheme(config.data?.settings.theme);
  const page = useRoute();
  // Nothing configured yet: the first-run flow stands in for the status page (the nav still leads elsewhere).
  const View = page === 'status' && isFirstRun(config.data) ? Welcome : VIEWS[page];
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
        <Suspense fallback={<div className="page-loading" aria-busy="true" />}>
          <View />
        </Suspense>
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
        This window needs the address the daemon printed when it started: it carries a token that keeps other pages and
        programs out. Run <code>ferry daemon --config FILE</code> and open the <code>window:</code> address it shows.
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
