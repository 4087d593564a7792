// What flows from MQTT through rules into Kafka: sources, connectors and actions with their state, and the
// message rates in and out, live from GET /api/stream.
import type { JSX } from 'preact';
import type { ActionMetrics, ComponentStatus, Overview, SourceMetrics, StreamSnapshot } from '../api-types';
import { EmptyState } from '../components/empty-state';
import { LoadError } from '../components/load-error';
import { StatusBadge } from '../components/status-badge';
import { href, navigate } from '../paths';
import { flowRates, formatCount, formatRate, total } from '../rates';
import { useApi } from '../use-api';
import { useSnapshot } from '../use-snapshot';

export function OverviewPage(): JSX.Element {
  const overview = useApi<Overview>('api/overview');
  const { current, previous } = useSnapshot();
  const data = overview.data;
  const rates = flowRates(previous, current);
  const received = current !== undefined ? total(current.sources, (m) => m.received) : total(indexBy(data?.sources ?? []), (s) => s.metrics.received);
  const stored = current !== undefined ? total(current.actions, (m) => m.success) : undefined;
  const actions = (data?.rules ?? []).flatMap((rule) => rule.actions.map((action) => ({ ...action, ruleId: rule.id })));
  const enabledRules = (data?.rules ?? []).filter((r) => r.enabled).length;

  return (
    <section class="page" aria-labelledby="overview-title">
      <div class="page-header">
        <div>
          <h1 id="overview-title">Overview</h1>
          <p>MQTT messages in, rules, and records out to Kafka — live.</p>
        </div>
      </div>
      {overview.error !== undefined && <LoadError error={overview.error} what="the overview" onRetry={overview.reload} />}
      <dl class="grid grid-stats">
        <div class="stat"><dt>Messages in</dt><dd class="rate">{formatRate(rates.in)} <small>msg/s</small></dd><dd><small>{formatCount(received)} received</small></dd></div>
        <div class="stat"><dt>Records out</dt><dd class="rate">{formatRate(rates.out)} <small>msg/s</small></dd><dd><small>{stored === undefined ? '—' : formatCount(stored)} stored</small></dd></div>
        <div class="stat"><dt>Rules enabled</dt><dd>{data === undefined ? '—' : `${enabledRules} / ${data.rules.length}`}</dd></div>
        <div class="stat"><dt>Failed or dropped</dt><dd>{current === undefined ? '—' : formatCount(total(current.actions, (m) => m.failed + m.dropped))}</dd></div>
      </dl>
      {data !== undefined && (
        <div class="flow">
          <div class="card">
            <div class="card-header"><h2>Sources</h2><a href={href('sources')}>Manage</a></div>
            {data.sources.length === 0
              ? (
                <EmptyState action={<button type="button" class="button-primary" onClick={() => navigate('sources/new')}>New source</button>}>
                  No MQTT source yet. Add one so Sluice receives messages.
                </EmptyState>
              )
              : (
                <ul class="item-list">
                  {data.sources.map((source) => {
                    const metrics: SourceMetrics = current?.sources[source.id] ?? source.metrics;
                    return (
                      <li key={source.id}>
                        <a class="item-name" href={href(`sources/${encodeURIComponent(source.id)}`)}>{source.id}</a>
                        <StatusBadge status={statusOf(current, source.id, source.status)} />
                        <span class="item-meta">{source.type} · {formatCount(metrics.received)} received · {formatCount(metrics.pending)} pending</span>
                      </li>
                    );
                  })}
                </ul>
              )}
          </div>
          <div class="card">
            <div class="card-header"><h2>Connectors</h2><a href={href('connectors')}>Manage</a></div>
            {data.connectors.length === 0
              ? (
                <EmptyState action={<button type="button" class="button-primary" onClick={() => navigate('connectors/new')}>New connector</button>}>
                  No connectors yet. Create one to send rule results to Kafka.
                </EmptyState>
              )
              : (
                <ul class="item-list">
                  {data.connectors.map((connector) => (
                    <li key={connector.id}>
                      <a class="item-name" href={href(`connectors/${encodeURIComponent(connector.id)}`)}>{connector.id}</a>
                      <StatusBadge status={statusOf(current, connector.id, connector.status)} />
                      <span class="item-meta">{connector.type} · {connector.actions.length === 1 ? '1 action' : `${connector.actions.length} actions`}</span>
                    </li>
                  ))}
                </ul>
              )}
          </div>
          <div class="card">
            <div class="card-header"><h2>Actions</h2><a href={href('rules')}>Rules</a></div>
            {actions.length === 0
              ? (
                <EmptyState action={data.connectors.length === 0 ? undefined : <button type="button" class="button-primary" onClick={() => navigate('rules/new')}>New rule</button>}>
                  {data.connectors.length === 0
                    ? 'No actions yet. Create a connector first, then a rule whose action writes through it.'
                    : 'No actions yet. Create a rule and add an action that writes its results through a connector.'}
                </EmptyState>
              )
              : (
                <ul class="item-list">
                  {actions.map((action) => {
                    const metrics: ActionMetrics | undefined = current?.actions[action.id];
                    return (
                      <li key={action.id}>
                        <a class="item-name" href={href(`rules/${encodeURIComponent(action.ruleId)}`)}>{action.id}</a>
                        <StatusBadge status={statusOf(current, action.id, undefined) ?? statusOf(current, action.connector, data.connectors.find((c) => c.id === action.connector)?.status)} />
                        <span class="item-meta">
                          → {action.connector}
                          {metrics !== undefined && ` · ${formatRate(metrics.rate.current)} msg/s · ${formatCount(metrics.success)} ok · ${formatCount(metrics.failed)} failed · ${formatCount(metrics.queuing)} queuing`}
                        </span>
                      </li>
                    );
                  })}
                </ul>
              )}
          </div>
        </div>
      )}
      {data === undefined && overview.error === undefined && <p class="muted" role="status">Loading…</p>}
    </section>
  );
}

function statusOf(snapshot: StreamSnapshot | undefined, id: string, fallback: ComponentStatus | undefined): ComponentStatus | undefined {
  return snapshot?.status[id] ?? fallback;
}

function indexBy<T extends { id: string }>(items: readonly T[]): Record<string, T> {
  return Object.fromEntries(items.map((item) => [item.id, item]));
}
