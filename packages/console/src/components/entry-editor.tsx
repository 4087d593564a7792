// Create or edit a connector or a source: type, ID, and a form generated from the type's settings schema.
// Saves with If-Match (a change made elsewhere meanwhile is refused, 409); connectors have Test, which runs
// the staged connection test on the running connector, or on the form as typed when it is new or changed.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import type { JSX, TargetedEvent } from 'preact';
import { api, ApiError } from '../api';
import type { ConfigEntry, ConfigView, ConnectionTestReport, RemovedAnswer, SchemaCatalog } from '../api-types';
import { href, navigate } from '../paths';
import { humanize } from '../humanize';
import { errorsFromIssues } from '../schema-model';
import { useApi } from '../use-api';
import { ConfirmDialog } from './confirm-dialog';
import { ConnectionTestResult } from './connection-test';
import { LoadError } from './load-error';
import { Required, SchemaForm } from './schema-form';

export type EntryKind = 'connectors' | 'sources';

const NOUN: Record<EntryKind, string> = { connectors: 'connector', sources: 'source' };

interface Notice {
  readonly tone: 'ok' | 'error';
  readonly text: string;
  readonly issues?: readonly { path: string; message: string }[];
  readonly conflict?: boolean;
}

export function EntryEditor(props: { kind: EntryKind; id?: string }): JSX.Element {
  const { kind, id } = props;
  const noun = NOUN[kind];
  const schemas = useApi<SchemaCatalog>('api/schema');
  const config = useApi<ConfigView>('api/config');
  const stored: ConfigEntry | undefined = id === undefined ? undefined : config.data?.[kind].find((e) => e.id === id);
  const types = Object.keys(schemas.data?.[kind] ?? {});

  const [type, setType] = useState<string | undefined>(undefined);
  const [entryId, setEntryId] = useState('');
  const [settings, setSettings] = useState<Record<string, unknown>>({});
  const [initial, setInitial] = useState('');
  const [revision, setRevision] = useState<string | undefined>(undefined);
  const [errors, setErrors] = useState<Record<string, string>>({});
  // A new entry is saved, then its own page opens (`?saved`) and says so.
  const { query } = useLocation();
  const [notice, setNotice] = useState<Notice | undefined>(
    query['saved'] !== undefined ? { tone: 'ok', text: `Saved. The ${noun} runs with these settings now.` } : undefined,
  );
  const [report, setReport] = useState<ConnectionTestReport | undefined>(undefined);
  const [busy, setBusy] = useState<'save' | 'test' | 'delete' | undefined>(undefined);
  const [confirming, setConfirming] = useState(false);
  // Bumped whenever the form is (re)filled from the server: the form remounts with the stored values.
  const [filled, setFilled] = useState(0);

  // Fill the form once the stored entry (or, for a new one, the schema) is there.
  useEffect(() => {
    if (config.data === undefined || schemas.data === undefined) return;
    setRevision(config.data.revision);
    if (id !== undefined) {
      if (stored === undefined) return;
      const { id: _id, type: storedType, ...rest } = stored;
      setType(storedType);
      setEntryId(stored.id);
      setSettings(rest);
      setInitial(JSON.stringify(rest));
      setFilled((n) => n + 1);
    } else if (type === undefined) {
      const first = types.includes('kafka') && kind === 'connectors' ? 'kafka' : types.includes('mqtt') ? 'mqtt' : types[0];
      setType(first);
      setInitial(JSON.stringify({}));
      setFilled((n) => n + 1);
    }
  }, [config.data, schemas.data]);

  const schema = type === undefined ? undefined : schemas.data?.[kind][type];
  const dirty = useMemo(() => JSON.stringify(settings) !== initial || (id === undefined && entryId !== ''), [settings, initial, entryId]);
  const body = (): Record<string, unknown> => ({ type, ...settings });

  const fail = (caught: unknown, action: 'save' | 'test' | 'delete'): void => {
    const not = { save: 'Not saved', test: 'Not tested', delete: 'Not deleted' }[action];
    if (!(caught instanceof ApiError)) {
      setNotice({ tone: 'error', text: `${not}: ${String(caught)}` });
      return;
    }
    const { body: answer } = caught;
    setErrors(errorsFromIssues(answer.issues));
    if (caught.status === 409 && answer.code === 'ERR_CONFIG_CONFLICT') {
      setNotice({ tone: 'error', text: 'The configuration was changed elsewhere — reload to see the current version, then make your change again.', conflict: true });
    } else if (caught.status === 409 && answer.code === 'ERR_IN_USE') {
      setNotice({ tone: 'error', text: `${not}: ${answer.error}.` });
    } else if (answer.issues !== undefined && answer.issues.length > 0) {
      setNotice({ tone: 'error', text: `${not}: correct the settings marked below.`, issues: answer.issues });
    } else {
      setNotice({ tone: 'error', text: `${not}: ${answer.error}` });
    }
  };

  const save = async (event: TargetedEvent<HTMLFormElement, SubmitEvent>): Promise<void> => {
    event.preventDefault();
    const target = id ?? entryId.trim();
    if (target === '') {
      setErrors({ id: `Give the ${noun} an ID (letters, digits, - and _); rules and actions refer to it.` });
      return;
    }
    setBusy('save');
    setNotice(undefined);
    setErrors({});
    try {
      const answer = await api<{ revision: string }>(`api/${kind}/${encodeURIComponent(target)}`, {
        method: 'PUT', body: body(), ...(revision === undefined ? {} : { ifMatch: revision }),
      });
      setRevision(answer.revision);
      setInitial(JSON.stringify(settings));
      if (id === undefined) navigate(`${kind}/${encodeURIComponent(target)}?saved`, { replace: true });
      else setNotice({ tone: 'ok', text: `Saved. The ${noun} runs with these settings now.` });
      config.reload();
    } catch (caught) {
      fail(caught, 'save');
    } finally {
      setBusy(undefined);
    }
  };

  const test = async (): Promise<void> => {
    setBusy('test');
    setReport(undefined);
    setNotice(undefined);
    setErrors({});
    try {
      const answer = id !== undefined && !dirty
        ? await api<ConnectionTestReport>(`api/connectors/${encodeURIComponent(id)}/test`, { method: 'POST' })
        : await api<ConnectionTestReport>('api/connectors/test', { method: 'POST', body: { ...(id === undefined && entryId.trim() === '' ? {} : { id: id ?? entryId.trim() }), ...body() } });
      setReport(answer);
    } catch (caught) {
      fail(caught, 'test');
    } finally {
      setBusy(undefined);
    }
  };

  const remove = async (): Promise<void> => {
    if (id === undefined) return;
    setConfirming(false);
    setBusy('delete');
    setNotice(undefined);
    try {
      await api<RemovedAnswer>(`api/${kind}/${encodeURIComponent(id)}`, { method: 'DELETE', ...(revision === undefined ? {} : { ifMatch: revision }) });
      navigate(kind, { replace: true });
    } catch (caught) {
      fail(caught, 'delete');
    } finally {
      setBusy(undefined);
    }
  };

  const reload = (): void => {
    setNotice(undefined);
    setErrors({});
    setReport(undefined);
    setInitial('');
    config.reload();
  };

  const title = id === undefined ? `New ${noun}` : `${noun.charAt(0).toUpperCase()}${noun.slice(1)} ${id}`;
  const loadError = schemas.error ?? config.error;
  const missing = id !== undefined && config.data !== undefined && stored === undefined;
  const storedSecrets = useMemo(() => new Set<string>(), []);

  return (
    <section class="page" aria-labelledby="entry-title">
      <div class="page-header">
        <div>
          <p class="breadcrumb"><a href={href(kind)}>{kind === 'connectors' ? 'Connectors' : 'Sources'}</a></p>
          <h1 id="entry-title">{title}</h1>
        </div>
      </div>
      {loadError !== undefined && <LoadError error={loadError} what={`the ${noun} settings`} onRetry={() => { schemas.reload(); config.reload(); }} />}
      {missing && (
        <div class="alert alert-error" role="alert">
          There is no {noun} "{id}" in the configuration. <a href={href(kind)}>Back to the list</a>.
        </div>
      )}
      {schemas.data !== undefined && config.data !== undefined && !missing && (
        <form class="card" onSubmit={save} noValidate aria-labelledby="entry-title">
          <div class="field">
            <label for="entry-type">Type</label>
            <select id="entry-type" value={type ?? ''} disabled={id !== undefined}
              onChange={(e) => { setType(e.currentTarget.value); setSettings({}); setReport(undefined); }}>
              {types.map((t) => <option key={t} value={t}>{t}</option>)}
            </select>
            {schema?.description !== undefined && <p class="hint">{schema.description}</p>}
          </div>
          <div class="field">
            <label for="entry-id">ID</label><Required />
            <input id="entry-id" type="text" value={id ?? entryId} disabled={id !== undefined} autocomplete="off" spellcheck={false}
              aria-required="true" aria-invalid={errors['id'] !== undefined || undefined} aria-describedby="entry-id-hint entry-id-error"
              placeholder={kind === 'connectors' ? 'e.g. upstash' : 'e.g. plant'} onInput={(e) => setEntryId(e.currentTarget.value)} />
            <p class="hint" id="entry-id-hint">
              {id === undefined ? `Unique name of the ${noun}; ${kind === 'connectors' ? 'actions' : 'rules'} refer to it. It cannot be changed later.` : 'The ID cannot be changed.'}
            </p>
            {errors['id'] !== undefined ? <p class="field-error" id="entry-id-error">{errors['id']}</p> : <span id="entry-id-error" hidden />}
          </div>
          {schema !== undefined && filled > 0 && (
            <SchemaForm key={`${type ?? ''}#${filled}`} schema={schema} value={settings} onChange={setSettings} errors={errors} storedSecrets={storedSecrets} omit={['id', 'type']} />
          )}
          {notice !== undefined && (
            <div class={notice.tone === 'ok' ? 'alert alert-ok' : 'alert alert-error'} role={notice.tone === 'ok' ? 'status' : 'alert'}>
              {notice.text}
              {notice.issues !== undefined && notice.issues.length > 0 && (
                <ul>{notice.issues.map((issue, i) => <li key={i}>{issue.path === '' ? noun : humanize(issue.path.split('.').pop() ?? issue.path)}: {issue.message}</li>)}</ul>
              )}
              {notice.conflict === true && <div class="actions-row"><button type="button" onClick={reload}>Reload</button></div>}
            </div>
          )}
          <div class="actions-row">
            <button type="submit" class="button-primary" disabled={busy !== undefined}>{busy === 'save' ? 'Saving…' : 'Save'}</button>
            {kind === 'connectors' && <button type="button" onClick={test} disabled={busy !== undefined}>{busy === 'test' ? 'Testing…' : 'Test'}</button>}
            {id !== undefined && <button type="button" class="button-danger" onClick={() => setConfirming(true)} disabled={busy !== undefined}>Delete</button>}
            <a href={href(kind)}>Cancel</a>
          </div>
          {busy === 'test' && <p class="muted" role="status">Running the connection test…</p>}
          {report !== undefined && <ConnectionTestResult report={report} />}
        </form>
      )}
      {(schemas.loading || config.loading) && schemas.data === undefined && <p class="muted" role="status">Loading…</p>}
      <ConfirmDialog open={confirming} title={`Delete ${noun} ${id ?? ''}?`} confirmLabel="Delete" onConfirm={remove} onCancel={() => setConfirming(false)}>
        <p>It is removed from the config file and stopped. {kind === 'connectors' ? 'A connector that an action uses cannot be deleted.' : 'A source that a rule names cannot be deleted.'}</p>
      </ConfirmDialog>
    </section>
  );
}
