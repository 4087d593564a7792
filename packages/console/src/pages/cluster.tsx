// Cluster: the members of the cluster this server belongs to (cluster mode, docs/cluster.md) and the rules'
// and actions' counters summed over the running members, refreshed every few seconds from GET /api/cluster.
import type { JSX } from 'preact';
import { useEffect } from 'preact/hooks';
import type { ClusterMemberView, ClusterView } from '../api-types';
import { EmptyState } from '../components/empty-state';
import { LoadError } from '../components/load-error';
import { formatCount } from '../rates';
import { useApi } from '../use-api';

/** Members publish their status every 2 s by default: refreshing faster would show nothing new. */
const REFRESH_MS = 3_000;

/** The rule counters shown per rule, in EMQX's words. */
const RULE_COUNTERS = ['matched', 'passed', 'failed', 'actions.success', 'actions.failed'] as const;
/** The action counters shown per action, in EMQX's words; queuing and inflight are the members' gauges added up. */
const ACTION_COUNTERS = ['matched', 'success', 'failed', 'dropped', 'queuing', 'inflight'] as const;

export function ClusterPage(): JSX.Element {
  const cluster = useApi<ClusterView>('api/cluster');
  const { reload } = cluster;
  useEffect(() => {
    const timer = setInterval(reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);
  const notClustered = cluster.error?.status === 404;
  const view = cluster.data;
  return (
    <section class="page" aria-labelledby="cluster-title">
      <div class="page-header">
        <div>
          <h1 id="cluster-title">Cluster{view !== undefined && <> <span class="mono">{view.cluster}</span></>}</h1>
          <p>The Sluice processes that share this configuration through Kafka, and their counters added up.</p>
        </div>
      </div>
      {notClustered && (
        <div class="card">
          <EmptyState>This server runs alone. Add a <code>cluster:</code> section to its config file to run several servers as one (docs/cluster.md).</EmptyState>
        </div>
      )}
      {cluster.error !== undefined && !notClustered && view === undefined && <LoadError error={cluster.error} what="the cluster" onRetry={reload} />}
      {view !== undefined && <Members members={view.members} revision={view.configRevision} />}
      {view !== undefined && <Totals what="Rules" column="Rule" counters={RULE_COUNTERS} totals={view.totals.rules} running={running(view)} />}
      {view !== undefined && <Totals what="Actions" column="Action" counters={ACTION_COUNTERS} totals={view.totals.actions} running={running(view)} />}
      {cluster.loading && view === undefined && cluster.error === undefined && <p class="muted" role="status">Loading…</p>}
    </section>
  );
}

function Members(props: { members: readonly ClusterMemberView[]; revision: string | undefined }): JSX.Element {
  return (
    <div class="card">
      <h2>Members</h2>
      <div class="table-wrap">
        <table class="responsive">
          <thead>
            <tr><th scope="col">Member</th><th scope="col">State</th><th scope="col">Host</th><th scope="col">Since</th><th scope="col">Last seen</th><th scope="col">Config</th></tr>
          </thead>
          <tbody>
            {props.members.map((m) => (
              <tr key={m.id}>
                <td data-label="Member">{m.id}{m.self && <span class="muted"> (this server)</span>}</td>
                <td data-label="State"><span class={`badge badge-${m.state === 'running' ? 'connected' : m.state === 'gone' ? 'disconnected' : 'stopped'}`}>{m.state}</span></td>
                <td data-label="Host" class="mono">{m.host} · pid {m.pid}</td>
                <td data-label="Since">{new Date(m.since).toLocaleString()}</td>
                <td data-label="Last seen">{new Date(m.lastSeen).toLocaleTimeString()}</td>
                <td data-label="Config" class="mono" title={m.configRevision}>
                  {m.configRevision?.slice(0, 8) ?? '—'}
                  {m.configRevision !== undefined && props.revision !== undefined && m.configRevision !== props.revision && <span class="reason">differs from this server's</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

const running = (view: ClusterView): number => view.members.filter((m) => m.state === 'running').length;

/** One counter table (rules or actions) summed over the running members. */
function Totals(props: {
  what: string;
  column: string;
  counters: readonly string[];
  totals: ClusterView['totals']['rules'];
  running: number;
}): JSX.Element {
  const ids = Object.keys(props.totals).sort();
  return (
    <div class="card">
      <h2>{props.what}, all running members</h2>
      <p class="muted">Summed over {props.running} running {props.running === 1 ? 'member' : 'members'}.</p>
      {ids.length === 0
        ? <EmptyState>No {props.column.toLowerCase()} has counters yet.</EmptyState>
        : (
          <div class="table-wrap">
            <table class="responsive">
              <thead>
                <tr><th scope="col">{props.column}</th>{props.counters.map((name) => <th key={name} scope="col" class="num">{name}</th>)}</tr>
              </thead>
              <tbody>
                {ids.map((id) => (
                  <tr key={id}>
                    <td data-label={props.column}>{id}</td>
                    {props.counters.map((name) => <td key={name} data-label={name} class="num">{formatCount(props.totals[id]?.[name] ?? 0)}</td>)}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
    </div>
  );
}
