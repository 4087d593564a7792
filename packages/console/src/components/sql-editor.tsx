import { autocompletion, type Completion, type CompletionContext, type CompletionResult } from '@codemirror/autocomplete';
import { indentWithTab } from '@codemirror/commands';
import { sql, SQLDialect } from '@codemirror/lang-sql';
import { lintGutter, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { EditorState, type Text } from '@codemirror/state';
import { EditorView, keymap } from '@codemirror/view';
import { basicSetup } from 'codemirror';
import { useEffect, useRef } from 'preact/hooks';
import { api } from '../api';

/** Where the engine found a RuleSyntaxError (1-based, in the text as written) and what it said. */
export interface SqlError {
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export interface SqlEditorProps {
  readonly value: string;
  readonly onChange: (value: string) => void;
  /** Shown as a red underline at its line and column; the page shows the text in its own alert. */
  readonly error?: SqlError | undefined;
  /** id of an element describing the editor (the error alert), joined to the keyboard hint. */
  readonly describedBy?: string | undefined;
  readonly id?: string | undefined;
}

// EMQX rule SQL's reserved words (docs/sql.md, Lexical structure); lower-case `div`/`mod` are operators.
const KEYWORDS = 'select from where as and or not in case when then else end foreach do incase if elsif div mod true false';

/**
 * The columns a rule sees for an MQTT message (core's messageColumns, EMQX's `message.publish` event),
 * with the paths into them users type most.
 */
const COLUMNS: ReadonlyArray<{ label: string; detail: string }> = [
  { label: 'payload', detail: 'message body (text; payload.x reads it as JSON)' },
  { label: 'topic', detail: 'MQTT topic' },
  { label: 'clientid', detail: 'publisher client id' },
  { label: 'username', detail: 'publisher username' },
  { label: 'timestamp', detail: 'receipt time, epoch ms' },
  { label: 'publish_received_at', detail: 'receipt time, epoch ms' },
  { label: 'qos', detail: '0, 1 or 2' },
  { label: 'flags', detail: '{ dup, retain }' },
  { label: 'flags.retain', detail: 'retain flag' },
  { label: 'flags.dup', detail: 'duplicate flag' },
  { label: 'headers', detail: 'MQTT headers' },
  { label: 'pub_props', detail: 'MQTT 5 publish properties' },
  { label: "pub_props.'User-Property'", detail: 'MQTT 5 user properties' },
  { label: 'peerhost', detail: 'publisher address' },
  { label: 'node', detail: 'the Sluice node' },
  { label: 'id', detail: 'message id' },
  { label: 'event', detail: "'message.publish'" },
  { label: 'metadata', detail: 'rule metadata' },
];

/** The SQL dialect for highlighting: EMQX's keywords, `"double quotes"` are names, `'single'` strings. */
const emqxDialect = SQLDialect.define({ keywords: KEYWORDS, identifierQuotes: '"', doubleQuotedStrings: false });

let functionNames: Promise<readonly string[]> | undefined;

/** The engine's function names, fetched once per page load (a failure is retried on the next editor). */
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

/** Completion of keywords, columns and function names (`lower(` on accept) at the word before the cursor. */
function ruleCompletions(functions: { current: readonly Completion[] }): (context: CompletionContext) => CompletionResult | null {
  const keywords: Completion[] = KEYWORDS.split(' ').map((k) => ({ label: k.toUpperCase(), type: 'keyword', boost: -1 }));
  const columns: Completion[] = COLUMNS.map((c) => ({ label: c.label, type: 'variable', detail: c.detail }));
  return (context) => {
    const word = context.matchBefore(/[A-Za-z_][\w.$@~]*/);
    if (word === null ? !context.explicit : word.from === word.to && !context.explicit) return null;
    // inside 'a string' or a "quoted name" (topic filters) nothing is completed
    const line = context.state.doc.lineAt(context.pos);
    const before = line.text.slice(0, context.pos - line.from);
    if (((before.match(/'/g)?.length ?? 0) % 2) === 1 || ((before.match(/"/g)?.length ?? 0) % 2) === 1) return null;
    return { from: word?.from ?? context.pos, options: [...columns, ...functions.current, ...keywords], validFor: /^[\w.$@~]*$/ };
  };
}

/** Character offsets of a 1-based line/column, widened to the token there so the underline is visible. */
export function errorRange(doc: Text, line: number, column: number): { from: number; to: number } {
  const l = doc.line(Math.min(Math.max(1, line), doc.lines));
  let from = Math.min(l.from + Math.max(0, column - 1), l.to);
  let to = from;
  while (to < l.to && !/\s/.test(doc.sliceString(to, to + 1))) to++;
  if (to === from) {
    // at the end of a line (an unexpected end of rule): underline the character before it
    if (from > l.from) from--;
    else to = Math.min(from + 1, doc.length);
  }
  return { from, to };
}

/**
 * The rule SQL editor: CodeMirror 6 with SQL highlighting, completion of columns and the engine's
 * functions, and a syntax error shown as a lint diagnostic at its line and column. Tab indents; Escape
 * then Tab moves focus on (CodeMirror's escape hatch), which the hint under the editor says.
 */
export function SqlEditor({ value, onChange, error, describedBy, id }: SqlEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const onChangeRef = useRef(onChange);
  onChangeRef.current = onChange;
  const hintId = `${id ?? 'sql-editor'}-hint`;

  useEffect(() => {
    const functions = { current: [] as readonly Completion[] };
    void loadFunctionNames().then((names) => {
      functions.current = names.map((name) => ({ label: name, type: 'function', apply: `${name}(`, boost: 1 }));
    });
    const editor = new EditorView({
      parent: host.current as HTMLDivElement,
      state: EditorState.create({
        doc: value,
        extensions: [
          basicSetup,
          keymap.of([indentWithTab]),
          sql({ dialect: emqxDialect }),
          autocompletion({ override: [ruleCompletions(functions)] }),
          lintGutter(),
          EditorView.lineWrapping,
          EditorView.contentAttributes.of({ 'aria-label': 'Rule SQL', ...(id === undefined ? {} : { id }) }),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) onChangeRef.current(update.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = editor;
    return () => {
      editor.destroy();
      view.current = null;
    };
    // the editor is made once; value and error reach it through the effects below
  }, []);

  useEffect(() => {
    const editor = view.current;
    if (editor === null) return;
    editor.contentDOM.setAttribute('aria-describedby', [describedBy, hintId].filter(Boolean).join(' '));
  }, [describedBy, hintId]);

  // A value from outside (a rule loaded) replaces the text. While the user types, the page's value trails
  // the editor by a render: writing it back would undo keystrokes (and each undo would echo again).
  useEffect(() => {
    const editor = view.current;
    if (editor === null || editor.hasFocus || editor.state.doc.toString() === value) return;
    editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: value } });
  }, [value]);

  useEffect(() => {
    const editor = view.current;
    if (editor === null) return;
    const diagnostics: Diagnostic[] = [];
    if (error !== undefined) {
      const { from, to } = errorRange(editor.state.doc, error.line, error.column);
      diagnostics.push({ from, to, severity: 'error', message: error.message, source: 'rule SQL' });
    }
    editor.dispatch(setDiagnostics(editor.state, diagnostics));
  }, [error]);

  return (
    <div class="sql-editor">
      <div class={`sql-editor-box${error === undefined ? '' : ' has-error'}`} ref={host} />
      <p class="hint" id={hintId}>
        Ctrl+Space completes columns and functions. Tab indents; press Escape, then Tab, to move on.
      </p>
    </div>
  );
}
