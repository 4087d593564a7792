import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, stream } from '../api';
import type { RuleMetrics, RuleView, StreamSnapshot } from '../api-types';
import { href } from '../paths';
import { formatCount, formatRate } from '../rule-format';
import { sqlSummary } from '../rule-text';
import './rules.css';

/**
 * The rule list: id, SQL summary, enabled, matched / passed / failed and the current rate, kept live by
 * /api/stream (a rule that appears or goes away there reloads the list); Enable/Disable per rule.
 */
export function RulesPage() {
  const [rules, setRules] = useState<RuleView[] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState<string | undefined>(undefined);

  useEffect(() => {
    const abort = new AbortController();
    let known = new Set<string>();
    let reloading = false;
    const reload = (): void => {
      reloading = true;
      api<RuleView[]>('api/rules', { signal: abort.signal }).then((list) => {
        known = new Set(list.map((r) => r.id));
        setRules(list);
        setError(undefined);
      }, (e: unknown) => { if (!abort.signal.aborted) setError(messageOf(e)); }).finally(() => { reloading = false; });
    };
    reload();
    void stream('api/stream', (event, data) => {
      if (event !== 'snapshot') return;
      const snapshot = data as StreamSnapshot;
      const ids = Object.keys(snapshot.rules);
      if (!reloading && (ids.length !== known.size || ids.some((id) => !known.has(id)))) reload();
      setRules((current) => current?.map((rule) => withMetrics(rule, snapshot.rules[rule.id])));
    }, abort.signal);
    return () => abort.abort();
  }, []);

  const toggle = async (rule: RuleView): Promise<void> => {
    setBusy(rule.id);
    try {
      await api(`api/rules/${encodeURIComponent(rule.id)}/${rule.enabled ? 'disable' : 'enable'}`, { method: 'POST' });
      setRules((current) => current?.map((r) => (r.id === rule.id ? { ...r, enabled: !rule.enabled } : r)));
      setError(undefined);
    } catch (e) {
      setError(`${rule.enabled ? 'Disabling' : 'Enabling'} ${rule.id} failed: ${messageOf(e)}`);
    } finally {
      setBusy(undefined);
    }
  };

  return (
    <section class="page rules-page" aria-labelledby="rules-heading">
      <header class="page-header">
        <div>
          <h1 id="rules-heading">Rules</h1>
          <p>A rule picks MQTT messages with SQL, reshapes them, and hands each result to its actions.</p>
        </div>
        {rules !== undefined && rules.length > 0 && <a class="button button-primary" href={href('rules/new')}>New rule</a>}
      </header>
      {error !== undefined && <p role="alert" class="alert alert-error">{error}</p>}
      {rules === undefined && error === undefined && <p class="muted" aria-live="polite">Loading…</p>}
      {rules !== undefined && rules.length === 0 && (
        <div class="card empty">
          <p>No rules yet. Create one: write the SQL that selects messages (for example <code>SELECT payload.temp AS temp FROM "sensors/#"</code>), try it with Enable Test, and add an action that sends the results to a connector.</p>
          <a class="button button-primary" href={href('rules/new')}>New rule</a>
        </div>
      )}
      {rules !== undefined && rules.length > 0 && (
        <div class="card table-card">
          <div class="table-wrap">
            <table class="responsive rules-table">
              <caption class="visually-hidden">Rules with their counters, updated every second</caption>
              <thead>
                <tr>
                  <th scope="col">ID</th>
                  <th scope="col">SQL</th>
                  <th scope="col">Enabled</th>
                  <th scope="col" class="num">Matched</th>
                  <th scope="col" class="num">Passed</th>
                  <th scope="col" class="num">Failed</th>
                  <th scope="col" class="num">Rate</th>
                  <th scope="col"><span class="visually-hidden">Actions</span></th>
                </tr>
              </thead>
              <tbody>
                {rules.map((rule) => (
                  <tr key={rule.id}>
                    <th scope="row" data-label="ID" class="rule-id"><a href={href(`rules/${encodeURIComponent(rule.id)}`)}>{rule.id}</a></th>
                    <td data-label="SQL" class="sql"><code class="sql-summary" title={rule.sql}>{sqlSummary(rule.sql)}</code></td>
                    <td data-label="Enabled"><span class={rule.enabled ? 'badge badge-ok' : 'badge badge-off'}>{rule.enabled ? 'enabled' : 'disabled'}</span></td>
                    <td class="num" data-label="Matched">{formatCount(rule.metrics.matched)}</td>
                    <td class="num" data-label="Passed">{formatCount(rule.metrics.passed)}</td>
                    <td class={rule.metrics.failed > 0 ? 'num bad' : 'num'} data-label="Failed">{formatCount(rule.metrics.failed)}</td>
                    <td class="num" data-label="Rate">{formatRate(rule.metrics['matched.rate'].current)}</td>
                    <td class="row-actions">
                      {/* named by the row header (the rule id), as screen readers announce it */}
                      <button type="button" class="button-small" onClick={() => void toggle(rule)} disabled={busy === rule.id}>{rule.enabled ? 'Disable' : 'Enable'}</button>
                      <a class="button button-small" href={href(`rules/${encodeURIComponent(rule.id)}/edit`)}>Edit</a>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
    </section>
  );
}

function withMetrics(rule: RuleView, metrics: RuleMetrics | undefined): RuleView {
  return metrics === undefined ? rule : { ...rule, metrics };
}

function messageOf(e: unknown): string {
  return e instanceof ApiError ? e.body.error : e instanceof Error ? e.message : String(e);
}
