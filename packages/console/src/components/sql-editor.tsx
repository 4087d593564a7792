import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api';
import type { RuleEditorHandle, SqlError } from './sql-editor-view';

export type { SqlError } from './sql-editor-view';

export interface SqlEditorProps {
  readonly value: string;
  readonly onChange: (value: string) => void;
  /** Shown as a red underline at its line and column; the page shows the text in its own alert. */
  readonly error?: SqlError | undefined;
  /** id of an element describing the editor (the error alert), joined to the keyboard hint. */
  readonly describedBy?: string | undefined;
  /** The editable content's id, for the page's <label for>. */
  readonly id?: string | undefined;
}

let functionNames: Promise<readonly string[]> | undefined;

/** The engine's function names, fetched once per page load (a failure is retried by the next editor). */
function loadFunctionNames(): Promise<readonly string[]> {
  functionNames ??= api<{ functions: string[] }>('api/sql/functions').then(
    (answer) => answer.functions,
    () => {
      functionNames = undefined;
      return [];
    },
  );
  return functionNames;
}

/**
 * The rule SQL editor (CodeMirror 6, aria-label "Rule SQL"): SQL highlighting, completion of message
 * columns and the engine's functions, a syntax error underlined at its line and column. CodeMirror is
 * loaded when the first editor mounts (its own chunk), so the other pages stay small.
 */
export function SqlEditor({ value, onChange, error, describedBy, id }: SqlEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const handle = useRef<RuleEditorHandle | null>(null);
  const [failed, setFailed] = useState<string | undefined>(undefined);
  // what the editor needs when it arrives, and what the effects below keep current
  const latest = useRef({ value, onChange, error, describedBy: '' });
  const hintId = `${id ?? 'sql-editor'}-hint`;
  const described = [describedBy, hintId].filter(Boolean).join(' ');
  latest.current = { value, onChange, error, describedBy: described };

  useEffect(() => {
    let cancelled = false;
    import('./sql-editor-view').then((module) => {
      if (cancelled || host.current === null) return;
      const editor = module.createRuleEditor(host.current, {
        value: latest.current.value,
        id,
        describedBy: latest.current.describedBy,
        onChange: (text) => latest.current.onChange(text),
        functionNames: loadFunctionNames(),
      });
      handle.current = editor;
      if (latest.current.error !== undefined) editor.setError(latest.current.error);
    }, (e: unknown) => {
      if (!cancelled) setFailed(`The editor could not be loaded (${String(e)}). Reload the page to try again.`);
    });
    return () => {
      cancelled = true;
      handle.current?.destroy();
      handle.current = null;
    };
    // the editor is made once; value, error and description reach it through the effects below
  }, []);

  useEffect(() => handle.current?.setValue(value), [value]);
  useEffect(() => handle.current?.setError(error), [error]);
  useEffect(() => handle.current?.setDescribedBy(described), [described]);

  return (
    <div class="sql-editor">
      <div class={`sql-editor-box${error === undefined ? '' : ' has-error'}`} ref={host} />
      {failed !== undefined && <p role="alert" class="alert alert-error">{failed}</p>}
      <p class="hint" id={hintId}>
        Ctrl+Space completes columns and functions. Tab indents; press Escape, then Tab, to move on.
      </p>
    </div>
  );
}
