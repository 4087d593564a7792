// The CodeMirror side of the rule SQL editor, loaded on demand (import() in sql-editor.tsx) so that pages
// without an editor do not download CodeMirror.
import { autocompletion, type Completion, type CompletionContext, type CompletionResult } from '@codemirror/autocomplete';
import { indentWithTab } from '@codemirror/commands';
import { sql, SQLDialect } from '@codemirror/lang-sql';
import { lintGutter, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { EditorState, type Text } from '@codemirror/state';
import { EditorView, keymap } from '@codemirror/view';
import { basicSetup } from 'codemirror';
import { cspNonce } from '../csp';

/** Where the engine found a RuleSyntaxError (1-based, in the text as written) and what it said. */
export interface SqlError {
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export interface RuleEditorOptions {
  readonly value: string;
  /** Set as the content's id (the page's <label for>). */
  readonly id?: string | undefined;
  readonly describedBy: string;
  readonly onChange: (value: string) => void;
  /** The engine's function names, for completion; the editor works before they arrive. */
  readonly functionNames: Promise<readonly string[]>;
}

/** What the Preact component drives. */
export interface RuleEditorHandle {
  /** Replaces the text, unless the user is typing (the page's value trails the editor then). */
  setValue(value: string): void;
  setError(error: SqlError | undefined): void;
  setDescribedBy(ids: string): void;
  focus(): void;
  destroy(): void;
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

/** Completion of columns, function names (`lower(` on accept) and keywords at the word before the cursor. */
function ruleCompletions(functions: { current: readonly Completion[] }): (context: CompletionContext) => CompletionResult | null {
  const keywords: Completion[] = KEYWORDS.split(' ').map((k) => ({ label: k.toUpperCase(), type: 'keyword', boost: -1 }));
  const columns: Completion[] = COLUMNS.map((c) => ({ label: c.label, type: 'variable', detail: c.detail }));
  return (context) => {
    const word = context.matchBefore(/[A-Za-z_][\w.$@~]*/);
    if ((word === null || word.from === word.to) && !context.explicit) return null;
    // inside 'a string' or a "quoted name" (topic filters) nothing is completed
    const line = context.state.doc.lineAt(context.pos);
    const before = line.text.slice(0, context.pos - line.from);
    if ((before.match(/'/g)?.length ?? 0) % 2 === 1 || (before.match(/"/g)?.length ?? 0) % 2 === 1) return null;
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
 * CodeMirror 6 with SQL highlighting, completion, and a syntax error shown as a lint diagnostic. Tab
 * indents; Escape then Tab moves focus on (CodeMirror's escape hatch, which the page's hint states).
 */
export function createRuleEditor(parent: HTMLElement, options: RuleEditorOptions): RuleEditorHandle {
  const functions = { current: [] as readonly Completion[] };
  void options.functionNames.then((names) => {
    functions.current = names.map((name) => ({ label: name, type: 'function', apply: `${name}(`, boost: 1 }));
  });
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: options.value,
      extensions: [
        // CodeMirror's <style> elements carry the page's nonce: the server's CSP allows no other inline style
        EditorView.cspNonce.of(cspNonce()),
        basicSetup,
        keymap.of([indentWithTab]),
        sql({ dialect: emqxDialect }),
        // nothing picked when the list opens: Enter stays a newline until an option is chosen with the arrows,
        // so typing a multi-line rule never turns a line break into a completion
        autocompletion({ override: [ruleCompletions(functions)], selectOnOpen: false }),
        lintGutter(),
        EditorView.lineWrapping,
        EditorView.contentAttributes.of({ 'aria-label': 'Rule SQL', ...(options.id === undefined ? {} : { id: options.id }) }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) options.onChange(update.state.doc.toString());
        }),
      ],
    }),
  });
  view.contentDOM.setAttribute('aria-describedby', options.describedBy);
  return {
    setValue(value) {
      if (view.hasFocus || view.state.doc.toString() === value) return;
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: value } });
    },
    setError(error) {
      const diagnostics: Diagnostic[] = [];
      if (error !== undefined) {
        const { from, to } = errorRange(view.state.doc, error.line, error.column);
        diagnostics.push({ from, to, severity: 'error', message: error.message, source: 'rule SQL' });
      }
      view.dispatch(setDiagnostics(view.state, diagnostics));
    },
    setDescribedBy(ids) {
      view.contentDOM.setAttribute('aria-describedby', ids);
    },
    focus() {
      view.focus();
    },
    destroy() {
      view.destroy();
    },
  };
}
