// Connectors: where rule results go (Kafka clusters, MQTT brokers to republish to), with their live state.
import type { JSX } from 'preact';
import type { ConnectorView } from '../api-types';
import { EmptyState } from '../components/empty-state';
import { LoadError } from '../components/load-error';
import { StatusBadge } from '../components/status-badge';
import { href, navigate } from '../paths';
import { display } from '../schema-model';
import { useApi } from '../use-api';
import { useSnapshot } from '../use-snapshot';

/** The setting that says where a connector points: Kafka bootstrap hosts, an MQTT URL. */
export function addressOf(settings: Record<string, unknown>): string {
  for (const key of ['bootstrapHosts', 'url', 'host']) if (settings[key] !== undefined) return display(settings[key]);
  return '';
}

export function ConnectorsPage(): JSX.Element {
  const connectors = useApi<ConnectorView[]>('api/connectors');
  const { current } = useSnapshot();
  const list = connectors.data ?? [];
  const newButton = <button type="button" class="button-primary" onClick={() => navigate('connectors/new')}>New connector</button>;
  return (
    <section class="page" aria-labelledby="connectors-title">
      <div class="page-header">
        <div>
          <h1 id="connectors-title">Connectors</h1>
          <p>Connections to the systems that actions write rule results to.</p>
        </div>
        {list.length > 0 && newButton}
      </div>
      {connectors.error !== undefined && <LoadError error={connectors.error} what="the connectors" onRetry={connectors.reload} />}
      {connectors.data !== undefined && (
        <div class="card">
          {list.length === 0
            ? <EmptyState action={newButton}>No connectors yet. Create one to send rule results to Kafka.</EmptyState>
            : (
              <div class="table-wrap">
                <table class="responsive">
                  <thead><tr><th scope="col">ID</th><th scope="col">Type</th><th scope="col">State</th><th scope="col">Address</th><th scope="col">Used by</th></tr></thead>
                  <tbody>
                    {list.map((c) => (
                      <tr key={c.id}>
                        <td data-label="ID"><a href={href(`connectors/${encodeURIComponent(c.id)}`)}>{c.id}</a></td>
                        <td data-label="Type">{c.type}</td>
                        <td data-label="State"><StatusBadge status={current?.status[c.id] ?? c.status} /></td>
                        <td data-label="Address" class="mono">{addressOf(c.settings)}</td>
                        <td data-label="Used by">
                          {c.actions.length === 0
                            ? <span class="muted">no action</span>
                            : c.actions.map((a, i) => <span key={a.id}>{i > 0 && ', '}<a href={href(`rules/${encodeURIComponent(a.ruleId)}`)}>{a.ruleId}</a></span>)}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
        </div>
      )}
      {connectors.loading && connectors.data === undefined && <p class="muted" role="status">Loading…</p>}
    </section>
  );
}
