// Sources: where messages come from (an MQTT broker Sluice subscribes to, or its embedded broker).
import type { JSX } from 'preact';
import type { SourceView } from '../api-types';
import { EmptyState } from '../components/empty-state';
import { LoadError } from '../components/load-error';
import { StatusBadge } from '../components/status-badge';
import { href, navigate } from '../paths';
import { formatCount, formatRate, perSecond } from '../rates';
import { useApi } from '../use-api';
import { useSnapshot } from '../use-snapshot';
import { addressOf } from './connectors';

export function SourcesPage(): JSX.Element {
  const sources = useApi<SourceView[]>('api/sources');
  const { current, previous } = useSnapshot();
  const list = sources.data ?? [];
  const newButton = <button type="button" class="button-primary" onClick={() => navigate('sources/new')}>New source</button>;
  return (
    <section class="page" aria-labelledby="sources-title">
      <div class="page-header">
        <div>
          <h1 id="sources-title">Sources</h1>
          <p>Where messages come from: the MQTT brokers Sluice subscribes to for the rules' topics.</p>
        </div>
        {list.length > 0 && newButton}
      </div>
      {sources.error !== undefined && <LoadError error={sources.error} what="the sources" onRetry={sources.reload} />}
      {sources.data !== undefined && (
        <div class="card">
          {list.length === 0
            ? <EmptyState action={newButton}>No MQTT source yet. Add one so Sluice receives the messages your rules select from.</EmptyState>
            : (
              <div class="table-wrap">
                <table class="responsive">
                  <thead>
                    <tr><th scope="col">ID</th><th scope="col">Type</th><th scope="col">State</th><th scope="col">Address</th><th scope="col" class="num">Received</th><th scope="col" class="num">Rate</th><th scope="col" class="num">Pending</th></tr>
                  </thead>
                  <tbody>
                    {list.map((s) => {
                      const metrics = current?.sources[s.id] ?? s.metrics;
                      const rate = perSecond(previous?.sources[s.id]?.received, metrics.received, previous?.at, current?.at ?? 0);
                      return (
                        <tr key={s.id}>
                          <td data-label="ID"><a href={href(`sources/${encodeURIComponent(s.id)}`)}>{s.id}</a></td>
                          <td data-label="Type">{s.type}</td>
                          <td data-label="State"><StatusBadge status={current?.status[s.id] ?? s.status} /></td>
                          <td data-label="Address" class="mono">{addressOf(s.settings)}</td>
                          <td data-label="Received" class="num">{formatCount(metrics.received)}</td>
                          <td data-label="Rate" class="num">{formatRate(rate)} msg/s</td>
                          <td data-label="Pending" class="num">{formatCount(metrics.pending)}</td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
            )}
        </div>
      )}
      {sources.loading && sources.data === undefined && <p class="muted" role="status">Loading…</p>}
    </section>
  );
}
