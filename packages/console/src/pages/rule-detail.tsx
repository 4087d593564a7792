import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, stream } from '../api';
import type { ActionMetrics, ComponentStatus, RuleDetail, RuleMetrics, StreamSnapshot } from '../api-types';
import { MetricChart, type ChartSeries } from '../components/metric-chart';
import type { AlignedColumns } from '../metric-history';
import { RateHistory } from '../metric-history';
import { href } from '../paths';
import { breakdown, formatCount, formatRate } from '../rule-format';
import './rules.css';

const RULE_SERIES: readonly ChartSeries[] = [
  { label: 'Matched', color: '#2563eb' },
  { label: 'Passed', color: '#16a34a' },
  { label: 'Failed', color: '#dc2626' },
];
const ACTION_SERIES: readonly ChartSeries[] = [
  { label: 'Success', color: '#16a34a' },
  { label: 'Failed', color: '#dc2626' },
  { label: 'Dropped', color: '#d97706' },
];

const emptyColumns = (series: number): AlignedColumns => [[], ...Array.from({ length: series }, () => [])];
const ruleCounters = (m: RuleMetrics): number[] => [m.matched, m.passed, m.failed];
const actionCounters = (m: ActionMetrics): number[] => [m.success, m.failed, m.dropped];

/** The charts' state: one rate history per rule and per action, fed by every snapshot. */
interface Histories {
  readonly rule: RateHistory;
  readonly actions: Map<string, RateHistory>;
}

/**
 * A rule's statistics as EMQX's rule page shows them (matched, passed, failed, no result, rate, max rate;
 * per action success, failed, dropped with its reasons, retried, inflight, queuing), with charts of the
 * last 5 minutes fed by /api/stream while the page is open. Enable/Disable, Reset metrics, Edit.
 */
export function RuleDetailPage({ id }: { id: string }) {
  const [rule, setRule] = useState<RuleDetail | undefined>(undefined);
  const [status, setStatus] = useState<Readonly<Record<string, ComponentStatus>>>({});
  const [columns, setColumns] = useState<{ rule: AlignedColumns; actions: Record<string, AlignedColumns> }>({ rule: emptyColumns(RULE_SERIES.length), actions: {} });
  const [updatedAt, setUpdatedAt] = useState<number | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const histories = useRef<Histories>({ rule: new RateHistory(RULE_SERIES.length), actions: new Map() });
  // the actions of this rule (the stream carries every rule's): set once the rule is read
  const actionIds = useRef<readonly string[]>([]);
  actionIds.current = rule?.actions.map((a) => a.id) ?? [];

  useEffect(() => {
    const abort = new AbortController();
    const path = `api/rules/${encodeURIComponent(id)}`;
    api<RuleDetail>(path, { signal: abort.signal }).then(setRule, (e: unknown) => { if (!abort.signal.aborted) setError(messageOf(e)); });
    void stream('api/stream', (event, data) => {
      if (event !== 'snapshot') return;
      const snapshot = data as StreamSnapshot;
      const metrics = snapshot.rules[id];
      if (metrics === undefined) return;
      const h = histories.current;
      h.rule.add(snapshot.at, ruleCounters(metrics));
      const actionColumns: Record<string, AlignedColumns> = {};
      for (const actionId of actionIds.current) {
        const actionMetrics = snapshot.actions[actionId];
        if (actionMetrics === undefined) continue;
        let history = h.actions.get(actionId);
        if (history === undefined) h.actions.set(actionId, history = new RateHistory(ACTION_SERIES.length));
        history.add(snapshot.at, actionCounters(actionMetrics));
        actionColumns[actionId] = history.history.columns();
      }
      setColumns({ rule: h.rule.history.columns(), actions: actionColumns });
      setStatus(snapshot.status);
      setUpdatedAt(snapshot.at);
      setRule((current) => current === undefined ? current : {
        ...current,
        metrics,
        actions: current.actions.map((a) => ({ ...a, metrics: snapshot.actions[a.id] ?? a.metrics })),
      });
    }, abort.signal);
    return () => abort.abort();
  }, [id]);

  const post = async (what: 'enable' | 'disable' | 'reset-metrics'): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      await api(`api/rules/${encodeURIComponent(id)}/${what}`, { method: 'POST' });
      // shown at once rather than at the next snapshot
      setRule(await api<RuleDetail>(`api/rules/${encodeURIComponent(id)}`));
      if (what === 'reset-metrics') setNotice('Metrics reset: the counters start again from 0.');
      else {
        setRule((current) => current === undefined ? current : { ...current, enabled: what === 'enable' });
        setNotice(what === 'enable' ? 'Rule enabled.' : 'Rule disabled: it matches no messages until enabled.');
      }
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };

  if (rule === undefined) {
    return (
      <section class="page">
        <nav class="breadcrumb" aria-label="Breadcrumb"><a href={href('rules')}>Rules</a> › {id}</nav>
        <h1>{id}</h1>
        {error === undefined ? <p aria-live="polite">Loading…</p> : <p role="alert" class="alert alert-error">{error}</p>}
      </section>
    );
  }

  const m = rule.metrics;
  return (
    <section class="page rule-detail" aria-labelledby="rule-heading">
      <nav class="breadcrumb" aria-label="Breadcrumb"><a href={href('rules')}>Rules</a> › {rule.id}</nav>
      <header class="page-header">
        <div>
          <div class="title-line">
            <h1 id="rule-heading">{rule.id}</h1>
            <span class={rule.enabled ? 'badge badge-ok' : 'badge badge-off'}>{rule.enabled ? 'enabled' : 'disabled'}</span>
          </div>
          {rule.definition.description !== undefined && <p>{rule.definition.description}</p>}
        </div>
        <div class="header-actions">
          <button type="button" onClick={() => void post(rule.enabled ? 'disable' : 'enable')} disabled={busy}>{rule.enabled ? 'Disable' : 'Enable'}</button>
          <button type="button" onClick={() => void post('reset-metrics')} disabled={busy}>Reset metrics</button>
          <a class="button button-primary" href={href(`rules/${encodeURIComponent(rule.id)}/edit`)}>Edit</a>
        </div>
      </header>
      <pre class="sql-view" aria-label="Rule SQL"><code>{rule.sql}</code></pre>
      {error !== undefined && <p role="alert" class="alert alert-error">{error}</p>}
      <p class="status-line" aria-live="polite">{notice}</p>
      {(rule.restartNeeded?.length ?? 0) > 0 && <p class="alert alert-info">Needs a restart to apply: {rule.restartNeeded?.join(', ')}</p>}

      <section class="card" aria-labelledby="rule-stats-heading">
        <h2 id="rule-stats-heading">Rule statistics <span class="updated">{updatedAt === undefined ? '' : `live, ${new Date(updatedAt).toLocaleTimeString()}`}</span></h2>
        <dl class="grid stats-grid">
          <Stat term="Matched" value={formatCount(m.matched)} note="topic matched FROM" />
          <Stat term="Passed" value={formatCount(m.passed)} note="WHERE passed" />
          <Stat term="Failed" value={formatCount(m.failed)} bad={m.failed > 0} note={breakdown([['exception', m['failed.exception']], ['no result', m['failed.no_result']]])} />
          <Stat term="No result" value={formatCount(m['failed.no_result'])} note="WHERE or FOREACH left nothing" />
          <Stat term="Rate" value={formatRate(m['matched.rate'].current)} note={`last 5 min ${formatRate(m['matched.rate'].last5m)}`} />
          <Stat term="Max rate" value={formatRate(m['matched.rate'].max)} />
          <Stat term="Actions total" value={formatCount(m['actions.total'])} note={breakdown([['success', m['actions.success']], ['failed', m['actions.failed']]])} />
        </dl>
        <MetricChart title={`${rule.id}: messages per second`} series={RULE_SERIES} data={columns.rule} />
      </section>

      <h2 class="section-title">Actions</h2>
      {rule.actions.length === 0 && <p class="card empty">This rule has no actions: its results go nowhere. <a href={href(`rules/${encodeURIComponent(rule.id)}/edit`)}>Add one</a>.</p>}
      {rule.actions.map((action) => (
        <ActionStats key={action.id} id={action.id} connector={action.connector} metrics={action.metrics}
          status={status[action.connector]} columns={columns.actions[action.id] ?? emptyColumns(ACTION_SERIES.length)} />
      ))}
    </section>
  );
}

function ActionStats({ id, connector, metrics: a, status, columns }: { id: string; connector: string; metrics: ActionMetrics; status: ComponentStatus | undefined; columns: AlignedColumns }) {
  const c = a.connector;
  const headingId = `action-${id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const retried = c['retried'];
  return (
    <section class="card action-stats" aria-labelledby={headingId}>
      <h3 id={headingId}>{id}</h3>
      <p class="muted">
        Through <a href={href(`connectors/${encodeURIComponent(connector)}`)}>{connector}</a>
        {status !== undefined && <> · <span class={`state state-${status.state}`}>{status.state}</span>{status.reason === undefined ? '' : `: ${status.reason}`}</>}
      </p>
      <dl class="grid stats-grid">
        <Stat term="Matched" value={formatCount(a.matched)} />
        <Stat term="Success" value={formatCount(a.success)} />
        <Stat term="Failed" value={formatCount(a.failed)} bad={a.failed > 0}
          note={breakdown([['retriable', a['failed.retriable']], ['to fallback', a['fallback.success']], ['fallback failed', a['fallback.failed']]])} />
        <Stat term="Dropped" value={formatCount(a.dropped)} bad={a.dropped > 0}
          note={breakdown([['queue full', a['dropped.queue_full']], ['expired', a['dropped.expired']], ['other', a['dropped.other']]]) ?? 'reasons: queue full, expired, other'} />
        <Stat term="Retried" value={formatCount(retried)} note={retried === undefined ? 'not reported by this connector' : breakdown([['then sent', c['retried.success']], ['then failed', c['retried.failed']]])} />
        <Stat term="Inflight" value={formatCount(a.inflight)} />
        <Stat term="Queuing" value={formatCount(a.queuing)} note={c['queuing_bytes'] === undefined ? undefined : `${formatCount(c['queuing_bytes'])} bytes`} />
        <Stat term="Rate" value={formatRate(a.rate.current)} note={`max ${formatRate(a.rate.max)}`} />
        {c['late_reply'] !== undefined && <Stat term="Late replies" value={formatCount(c['late_reply'])} />}
        {c['produce_latency.p99_ms'] !== undefined && (c['produce_latency.count'] ?? 0) > 0 && (
          <Stat term="Produce latency" value={`${c['produce_latency.p50_ms']} ms`} note={`p99 ${c['produce_latency.p99_ms']} ms, max ${c['produce_latency.max_ms']} ms`} />
        )}
      </dl>
      <MetricChart title={`${id}: records per second`} series={ACTION_SERIES} data={columns} />
    </section>
  );
}

function Stat({ term, value, note, bad = false }: { term: string; value: string; note?: string | undefined; bad?: boolean }) {
  return (
    <div class={bad ? 'stat bad' : 'stat'}>
      <dt>{term}</dt>
      <dd>
        <StatValue text={value} />
        {note !== undefined && <small>{note}</small>}
      </dd>
    </div>
  );
}

/** "1.00 msg/s" with its unit smaller (and kept on the number's line). */
function StatValue({ text }: { text: string }) {
  const unit = / (msg\/s|ms)$/.exec(text);
  if (unit === null) return <>{text}</>;
  return <>{text.slice(0, unit.index)} <span class="unit">{unit[1]}</span></>;
}

function messageOf(e: unknown): string {
  return e instanceof ApiError ? e.body.error : e instanceof Error ? e.message : String(e);
}
