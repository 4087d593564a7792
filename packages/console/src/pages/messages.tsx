import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, stream } from '../api';
import type { BrowsedRecord, ConnectorView, Shown } from '../api-types';
import { href } from '../paths';
import { appendNewest, formatTimestamp, MAX_SHOWN_RECORDS, shownPreview } from '../record-view';
import './rules.css';

const LIMITS = [20, 50, 100, 500] as const;

/**
 * The Kafka topic browser (the Upstash console's topic → Messages): pick a connector and a topic, see the
 * latest records, and follow new ones live over SSE until "Stop following".
 */
export function MessagesPage() {
  const [connectors, setConnectors] = useState<ConnectorView[] | undefined>(undefined);
  const [connectorId, setConnectorId] = useState('');
  const [topics, setTopics] = useState<readonly string[] | undefined>(undefined);
  const [topic, setTopic] = useState('');
  const [limit, setLimit] = useState<number>(50);
  const [records, setRecords] = useState<BrowsedRecord[] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [following, setFollowing] = useState(false);
  const [loading, setLoading] = useState(false);
  const follow = useRef<AbortController | null>(null);
  const wantedTopic = useRef<string | null>(new URLSearchParams(location.search).get('topic'));

  const stopFollowing = (): void => {
    follow.current?.abort();
    follow.current = null;
    setFollowing(false);
  };

  useEffect(() => {
    const abort = new AbortController();
    api<ConnectorView[]>('api/connectors', { signal: abort.signal }).then((list) => {
      setConnectors(list);
      const wanted = new URLSearchParams(location.search).get('connector');
      const first = list.find((c) => c.id === wanted) ?? list.find((c) => c.type === 'kafka') ?? list[0];
      if (first !== undefined) setConnectorId(first.id);
    }, (e: unknown) => { if (!abort.signal.aborted) setError(messageOf(e)); });
    return () => {
      abort.abort();
      follow.current?.abort();
    };
  }, []);

  // the connector's topics; a topic named in the URL is picked when the connector has it
  useEffect(() => {
    if (connectorId === '') return undefined;
    stopFollowing();
    setTopics(undefined);
    setRecords(undefined);
    setError(undefined);
    const abort = new AbortController();
    api<{ topics: string[] }>(`api/connectors/${encodeURIComponent(connectorId)}/topics`, { signal: abort.signal }).then((answer) => {
      setTopics(answer.topics);
      const wanted = wantedTopic.current;
      wantedTopic.current = null;
      setTopic((current) => [wanted, current].find((t): t is string => t !== null && answer.topics.includes(t)) ?? answer.topics[0] ?? '');
    }, (e: unknown) => {
      if (abort.signal.aborted) return;
      setTopics([]);
      setTopic('');
      setError(e instanceof ApiError && e.status === 501 ? `The connector "${connectorId}" cannot read back what it wrote (only Kafka connectors can).` : messageOf(e));
    });
    return () => abort.abort();
  }, [connectorId]);

  const load = (signal?: AbortSignal): void => {
    if (connectorId === '' || topic === '') return;
    setLoading(true);
    setError(undefined);
    const path = `api/connectors/${encodeURIComponent(connectorId)}/messages?topic=${encodeURIComponent(topic)}&limit=${limit}`;
    api<{ records: BrowsedRecord[] }>(path, signal === undefined ? {} : { signal }).then((answer) => {
      setRecords(answer.records);
      setLoading(false);
    }, (e: unknown) => {
      if (signal?.aborted === true) return;
      setError(messageOf(e));
      setLoading(false);
    });
  };

  useEffect(() => {
    if (topic === '') return undefined;
    stopFollowing();
    // the picked topic in the URL: a reload or a shared link shows the same records
    const query = new URLSearchParams(location.search);
    query.set('connector', connectorId);
    query.set('topic', topic);
    history.replaceState(history.state, '', `${location.pathname}?${query.toString()}`);
    const abort = new AbortController();
    load(abort.signal);
    return () => abort.abort();
  }, [connectorId, topic, limit]);

  const startFollowing = (): void => {
    if (connectorId === '' || topic === '') return;
    const abort = new AbortController();
    follow.current = abort;
    setFollowing(true);
    const path = `api/connectors/${encodeURIComponent(connectorId)}/messages/stream?topic=${encodeURIComponent(topic)}`;
    void stream(path, (event, data) => {
      if (event !== 'record') return;
      setRecords((current) => appendNewest(current ?? [], data as BrowsedRecord));
    }, abort.signal);
  };

  const newestFirst = records === undefined ? [] : [...records].reverse();

  return (
    <section class="page messages-page" aria-labelledby="messages-heading">
      <header class="page-header">
        <div>
          <h1 id="messages-heading">Messages</h1>
          <p>The records of a Kafka topic, read back through a connector, newest first.</p>
        </div>
      </header>
      {connectors !== undefined && connectors.length === 0 ? (
        <div class="card empty">
          <p>No connectors yet. Create a Kafka connector, then a rule whose action writes to a topic: its records show here.</p>
          <a class="button button-primary" href={href('connectors')}>Go to Connectors</a>
        </div>
      ) : (
        <>
          <div class="card toolbar">
            <label class="field">
              <span class="label">Connector</span>
              <select value={connectorId} onChange={(e) => setConnectorId(e.currentTarget.value)} disabled={connectors === undefined}>
                {(connectors ?? []).map((c) => <option key={c.id} value={c.id}>{c.id} ({c.type})</option>)}
              </select>
            </label>
            <label class="field">
              <span class="label">Topic</span>
              <select value={topic} onChange={(e) => setTopic(e.currentTarget.value)} disabled={topics === undefined || topics.length === 0}>
                {(topics ?? []).map((t) => <option key={t} value={t}>{t}</option>)}
              </select>
            </label>
            <label class="field">
              <span class="label">Latest</span>
              <select value={String(limit)} onChange={(e) => setLimit(Number(e.currentTarget.value))}>
                {LIMITS.map((n) => <option key={n} value={String(n)}>{n} records</option>)}
              </select>
            </label>
            <div class="toolbar-buttons">
              <button type="button" onClick={() => load()} disabled={topic === '' || loading}>Refresh</button>
              {following
                ? <button type="button" class="button-primary" onClick={stopFollowing}>Stop following</button>
                : <button type="button" class="button-primary" onClick={startFollowing} disabled={topic === ''}>Follow</button>}
            </div>
          </div>
          <p class="status-line" aria-live="polite">
            {following ? `Following ${topic}: new records appear at the top.` : loading ? 'Loading…' : ''}
          </p>
          {error !== undefined && <p role="alert" class="alert alert-error">{error}</p>}
          {topics !== undefined && topics.length === 0 && error === undefined && (
            <p class="card empty">This cluster has no topics yet. A rule action writing to a topic puts its records here.</p>
          )}
          {records !== undefined && (
            <div class="card table-card">
              <div class="table-wrap">
              <table class="responsive records">
                <caption class="visually-hidden">Latest records of {topic}, newest first</caption>
                <thead>
                  <tr><th scope="col" class="num">Partition</th><th scope="col" class="num">Offset</th><th scope="col">Timestamp</th><th scope="col">Key</th><th scope="col">Value</th><th scope="col">Headers</th></tr>
                </thead>
                <tbody>
                  {newestFirst.length === 0 && (
                    <tr><td colSpan={6} class="empty-row">No records in {topic} yet{following ? ': waiting for new ones…' : '. Press Follow to see new ones as they arrive.'}</td></tr>
                  )}
                  {newestFirst.map((r) => (
                    <tr key={`${r.partition}:${r.offset}`}>
                      <td class="num" data-label="Partition">{r.partition}</td>
                      <td class="num" data-label="Offset">{r.offset}</td>
                      <td data-label="Timestamp"><time dateTime={isoOf(r.timestamp)}>{formatTimestamp(r.timestamp)}</time></td>
                      <td data-label="Key"><ShownValue shown={r.key} /></td>
                      <td data-label="Value"><ShownValue shown={r.value} /></td>
                      <td data-label="Headers"><Headers headers={r.headers} /></td>
                    </tr>
                  ))}
                </tbody>
              </table>
              </div>
              {records.length >= MAX_SHOWN_RECORDS && <p class="hint">Showing the newest {MAX_SHOWN_RECORDS} records.</p>}
            </div>
          )}
        </>
      )}
    </section>
  );
}

/** A key, value or header: monospace; hex marked as such; long text folded behind its first characters. */
function ShownValue({ shown }: { shown: Shown | null | undefined }) {
  if (shown === null || shown === undefined) return <span class="muted">null</span>;
  const preview = shownPreview(shown.text);
  const badge = shown.encoding === 'hex' ? <abbr class="badge" title="not UTF-8: shown as hexadecimal bytes">hex</abbr> : null;
  const cut = shown.truncated === true ? <span class="muted"> (cut at 64 KiB)</span> : null;
  if (preview === undefined) {
    return <span class="shown">{badge}<code>{shown.text === '' ? <span class="muted">(empty)</span> : shown.text}</code>{cut}</span>;
  }
  return (
    <details class="shown folded">
      <summary>{badge}<code>{preview}</code></summary>
      <pre>{shown.text}</pre>
      {cut}
    </details>
  );
}

function Headers({ headers }: { headers: Readonly<Record<string, Shown>> | undefined }) {
  const entries = Object.entries(headers ?? {});
  if (entries.length === 0) return <span class="muted">none</span>;
  return (
    <dl class="kv">
      {entries.map(([k, v]) => (
        <div key={k}><dt>{k}</dt><dd><ShownValue shown={v} /></dd></div>
      ))}
    </dl>
  );
}

function isoOf(epochMs: string): string | undefined {
  const ms = Number(epochMs);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

function messageOf(e: unknown): string {
  return e instanceof ApiError ? e.body.error : e instanceof Error ? e.message : String(e);
}
