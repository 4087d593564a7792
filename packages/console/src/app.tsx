// The console's shell: a left navigation (a menu button on narrow windows), a header with the server
// connection dot and "Sign out", and the router. Routes live under the mount prefix (paths.ts).
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ComponentChildren, JSX } from 'preact';
import { lazy, LocationProvider, Route, Router, useLocation } from 'preact-iso';
import { api, connection, session, type ConnectionState } from './api';
import type { SessionInfo } from './api-types';
import { href, navigate, ROOT } from './paths';
import { sessionInfo } from './session-state';
import { LoginPage } from './pages/login';
import { OverviewPage } from './pages/overview';
import { ConnectorsPage } from './pages/connectors';
import { ConnectorEditPage } from './pages/connector-edit';
import { SourcesPage } from './pages/sources';
import { SourceEditPage } from './pages/source-edit';
import { NotFoundPage } from './pages/not-found';

// The rule pages carry CodeMirror and uPlot: loaded when first visited, so the overview starts small.
const RulesPage = lazy(() => import('./pages/rules').then((m) => m.RulesPage));
const RuleEditPage = lazy(() => import('./pages/rule-edit').then((m) => m.RuleEditPage));
const RuleDetailPage = lazy(() => import('./pages/rule-detail').then((m) => m.RuleDetailPage));
const MessagesPage = lazy(() => import('./pages/messages').then((m) => m.MessagesPage));
const ClusterPage = lazy(() => import('./pages/cluster').then((m) => m.ClusterPage));

const NAV: readonly { page: string; label: string }[] = [
  { page: '', label: 'Overview' },
  { page: 'connectors', label: 'Connectors' },
  { page: 'sources', label: 'Sources' },
  { page: 'rules', label: 'Rules' },
  { page: 'messages', label: 'Messages' },
  { page: 'cluster', label: 'Cluster' },
];

/** How often the shell checks the server is there when no page is talking to it. */
const SESSION_CHECK_MS = 15_000;

export function App(): JSX.Element {
  return (
    <LocationProvider scope={ROOT}>
      <Routes />
    </LocationProvider>
  );
}

function Routes(): JSX.Element {
  const { path } = useLocation();
  if (path === href('login')) return <LoginPage />;
  return (
    <Shell>
      <Router>
        <Route path={href('')} component={OverviewPage} />
        <Route path={href('connectors')} component={ConnectorsPage} />
        <Route path={href('connectors/new')} component={NewConnector} />
        <Route path={href('connectors/:id')} component={EditConnector} />
        <Route path={href('sources')} component={SourcesPage} />
        <Route path={href('sources/new')} component={NewSource} />
        <Route path={href('sources/:id')} component={EditSource} />
        <Route path={href('rules')} component={RulesPage} />
        <Route path={href('rules/new')} component={NewRule} />
        <Route path={href('rules/:id/edit')} component={EditRule} />
        <Route path={href('rules/:id')} component={RuleDetail} />
        <Route path={href('messages')} component={MessagesPage} />
        <Route path={href('cluster')} component={ClusterPage} />
        <Route default component={NotFoundPage} />
      </Router>
    </Shell>
  );
}

// preact-iso passes route params as props; these adapters give the pages the props they declare.
const NewConnector = (): JSX.Element => <ConnectorEditPage />;
const EditConnector = (props: { id?: string }): JSX.Element => <ConnectorEditPage key={props.id} {...(props.id === undefined ? {} : { id: props.id })} />;
const NewSource = (): JSX.Element => <SourceEditPage />;
const EditSource = (props: { id?: string }): JSX.Element => <SourceEditPage key={props.id} {...(props.id === undefined ? {} : { id: props.id })} />;
const NewRule = (): JSX.Element => <RuleEditPage />;
const EditRule = (props: { id?: string }): JSX.Element => <RuleEditPage key={props.id} {...(props.id === undefined ? {} : { id: props.id })} />;
const RuleDetail = (props: { id?: string }): JSX.Element => <RuleDetailPage key={props.id} id={props.id ?? ''} />;

function useConnection(): ConnectionState {
  const [state, setState] = useState(connection.state());
  useEffect(() => connection.subscribe(setState), []);
  return state;
}

function useSessionInfo(): SessionInfo | undefined {
  const [info, setInfo] = useState(sessionInfo.get());
  useEffect(() => sessionInfo.subscribe(() => setInfo(sessionInfo.get())), []);
  return info;
}

function Shell(props: { children: ComponentChildren }): JSX.Element {
  const { path } = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const state = useConnection();
  const info = useSessionInfo();

  // Checks the session at start (a 401 sends to the login page) and now and then afterwards, which also
  // keeps the connection dot true while a page shows nothing live.
  useEffect(() => {
    const controller = new AbortController();
    const check = (): void => {
      // A failure needs nothing here: api() turns the dot red (unreachable) or opens the login page (401).
      api<SessionInfo>('api/session', { signal: controller.signal }).then(sessionInfo.set, () => undefined);
    };
    check();
    const timer = setInterval(check, SESSION_CHECK_MS);
    return () => {
      clearInterval(timer);
      controller.abort();
    };
  }, []);

  // After a client-side navigation, focus moves to the new page (as a page load would), so keyboard and
  // screen-reader users start at its content rather than on the link they followed.
  const firstRender = useRef(true);
  useEffect(() => {
    setMenuOpen(false);
    if (firstRender.current) firstRender.current = false;
    else document.getElementById('main')?.focus({ preventScroll: false });
  }, [path]);

  const signOut = (): void => {
    session.setToken(undefined);
    sessionInfo.set(undefined);
    navigate('login');
  };

  return (
    <div class={menuOpen ? 'shell menu-open' : 'shell'}>
      <a class="skip-link" href="#main">Skip to content</a>
      <header class="topbar">
        <button type="button" class="menu-button" aria-expanded={menuOpen} aria-controls="main-nav" onClick={() => setMenuOpen(!menuOpen)}>
          <span aria-hidden="true">☰</span> Menu
        </button>
        <a class="brand" href={href('')}>Sluice</a>
        <div class="topbar-end">
          <ConnectionDot state={state} />
          {info !== undefined && <span class="version">v{info.version}</span>}
          {info?.tokenRequired === true && <button type="button" class="button-quiet" onClick={signOut}>Sign out</button>}
        </div>
      </header>
      <nav id="main-nav" class="sidenav" aria-label="Main" onKeyDown={(e) => { if (e.key === 'Escape') setMenuOpen(false); }}>
        <ul>
          {NAV.map((item) => {
            const target = href(item.page);
            const current = item.page === '' ? path === target || path === target.replace(/\/$/, '') : path === target || path.startsWith(`${target}/`);
            return (
              <li key={item.page}>
                <a href={target} aria-current={current ? 'page' : undefined}>{item.label}</a>
              </li>
            );
          })}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        {props.children}
      </main>
    </div>
  );
}

function ConnectionDot(props: { state: ConnectionState }): JSX.Element {
  const text = props.state === 'online' ? 'Server connected' : props.state === 'offline' ? 'Server unreachable' : 'Connecting to server';
  return (
    <span class={`connection connection-${props.state}`} role="status">
      <span class="dot" aria-hidden="true" />
      <span class="connection-text">{text}</span>
    </span>
  );
}
