import {
  Alias, Document, Scalar, YAMLMap, YAMLSeq, isAlias, isCollection, isMap, isScalar, isSeq, parseDocument, stringify, visit,
  type Node, type Pair,
} from 'yaml';
import { ConfigStoreError } from './config-store';
import { isPlainObject } from './secret-entries';

export type Section = 'sources' | 'connectors' | 'rules';

/** The edits a store makes to a config text: whole entries of `sources`, `connectors` and `rules`. */
export interface ConfigText {
  replaceEntry(section: Section, index: number, value: unknown): void;
  appendEntry(section: Section, value: unknown): void;
  removeEntry(section: Section, index: number): void;
  toString(): string;
}

interface Splice {
  readonly from: number;
  readonly to: number;
  readonly text: string;
}

interface Style {
  /** Whether block sequences are indented under their key (`key:\n  - a`) or not (`key:\n- a`). */
  readonly indentSeq: boolean;
}

const PARSE_OPTIONS = { prettyErrors: false, uniqueKeys: true } as const;
const ALIAS_PLACEHOLDER = /__sluice_alias_(\d+)__/g;

/**
 * A YAML config text edited by splicing: every byte outside the edited entries stays as it was (the
 * `yaml` library re-renders a whole document with its own spacing, quoting and folding, so the document
 * is only used to find where things are). Within an edited entry, a changed scalar is replaced in place
 * (its quoting style and line comment stay), a removed key loses its lines, a new key is added after the
 * last; only a part that changed shape (a list that grew, a string that became a map) is re-rendered,
 * from the yaml Document so that the comments inside it stay where the library can keep them.
 */
export class YamlConfigText implements ConfigText {
  private text: string;

  constructor(text: string) {
    this.text = text;
  }

  toString(): string {
    return this.text;
  }

  replaceEntry(section: Section, index: number, value: unknown): void {
    const { doc, seq, item } = this.entry(section, index);
    assertAnchorsNotShared(doc, item, `${section}[${index}]`);
    if (seq.flow) {
      this.splice([{ from: range(item)[0], to: range(item)[1], text: flowText(value) }]);
      return;
    }
    const edits = diffNode(this.context(doc), item, value, false);
    if (edits !== undefined) {
      this.splice(edits);
      return;
    }
    // The entry changed shape at its top (or its first key, which shares the `- ` line): re-render it.
    const region = this.entryRegion(item, `${section}[${index}]`);
    const node = mergeNode(doc, item, value);
    this.splice([{ from: region.from, to: region.to, text: renderBlock(new YAMLSeq(), node, region.column, this.style(doc)) }]);
  }

  appendEntry(section: Section, value: unknown): void {
    const doc = this.parse();
    const pair = this.topLevelPair(doc, section);
    const seq = pair?.value;
    if (pair !== undefined && isSeq(seq) && !seq.flow && seq.items.length > 0) {
      const first = seq.items[0] as Node;
      const last = seq.items[seq.items.length - 1] as Node;
      const column = this.entryRegion(first, `${section}[0]`).column;
      const at = lineEnd(this.text, range(last)[1]);
      // a last line without its newline gets one first, or the new entry would run on from it
      const lead = at > 0 && this.text[at - 1] !== '\n' ? '\n' : '';
      const gap = seq.items.slice(1).some((item) => (item as Node).spaceBefore === true) ? '\n' : '';
      this.splice([{ from: at, to: at, text: lead + gap + renderBlock(new YAMLSeq(), doc.createNode(value) as Node, column, this.style(doc)) }]);
      return;
    }
    const existing = isSeq(seq) ? (seq.toJS(doc) as unknown[]) : [];
    this.setTopLevel(doc, section, [...existing, value]);
  }

  removeEntry(section: Section, index: number): void {
    const { doc, seq, item } = this.entry(section, index);
    assertAnchorsNotShared(doc, item, `${section}[${index}]`);
    if (seq.flow || seq.items.length === 1) {
      // A flow list is rewritten as a whole; an emptied block list becomes `[]` (an empty key would read as null).
      const rest = (seq.toJS(doc) as unknown[]).filter((_, i) => i !== index);
      this.setTopLevel(doc, section, rest);
      return;
    }
    const region = this.entryRegion(item, `${section}[${index}]`);
    let from = region.from;
    // The blank line that set the entry apart goes with it.
    if (item.spaceBefore === true) {
      const previousLine = this.text.lastIndexOf('\n', from - 2) + 1;
      if (this.text.slice(previousLine, from).trim() === '') from = previousLine;
    }
    this.splice([{ from, to: region.to, text: '' }]);
  }

  private parse(): Document.Parsed {
    const doc = parseDocument(this.text, PARSE_OPTIONS);
    if (doc.errors.length > 0) throw new ConfigStoreError('ERR_CONFIG_STORE', `the config file does not parse: ${doc.errors[0]?.message.split('\n')[0] ?? ''}`);
    return doc;
  }

  private entry(section: Section, index: number): { doc: Document.Parsed; seq: YAMLSeq; item: Node } {
    const doc = this.parse();
    const seq = this.topLevelPair(doc, section)?.value;
    const item = isSeq(seq) ? seq.items[index] : undefined;
    if (!isSeq(seq) || item === undefined || item === null) throw new ConfigStoreError('ERR_CONFIG_STORE', `${section}[${index}] is not in the config file`);
    return { doc, seq, item: item as Node };
  }

  private topLevelPair(doc: Document.Parsed, key: string): Pair<Scalar, Node | null> | undefined {
    if (!isMap(doc.contents) || doc.contents.flow) {
      if (doc.contents === null) return undefined;
      throw new ConfigStoreError('ERR_CONFIG_STORE', 'the top level of the config file is not a block mapping (key: value lines); edit it by hand');
    }
    return doc.contents.items.find((pair) => isScalar(pair.key) && pair.key.value === key) as Pair<Scalar, Node | null> | undefined;
  }

  /** Replaces (or adds at the end) a top-level `key: value`, rendered afresh. */
  private setTopLevel(doc: Document.Parsed, key: Section, value: unknown): void {
    const pair = this.topLevelPair(doc, key);
    const rendered = renderPairText(key, value, 0, this.style(doc));
    if (pair !== undefined) {
      const region = pairRegion(this.text, pair);
      if (region === undefined) throw new ConfigStoreError('ERR_CONFIG_STORE', `the layout of "${key}" in the config file is not one this store can edit; edit it by hand`);
      this.splice([{ ...region, text: rendered }]);
      return;
    }
    const last = isMap(doc.contents) ? doc.contents.items[doc.contents.items.length - 1] : undefined;
    const at = last === undefined ? this.text.length : lineEnd(this.text, range((last.value ?? last.key) as Node)[1]);
    const before = at > 0 && this.text[at - 1] !== '\n' ? '\n' : '';
    this.splice([{ from: at, to: at, text: before + rendered }]);
  }

  /**
   * The text of a block-sequence entry: from the start of the line of its `-` to the end of the line its
   * value ends on (comment lines after it stay, they may belong to what follows). `column` is the `-`'s.
   */
  private entryRegion(item: Node, where: string): { from: number; to: number; column: number } {
    const dash = dashBefore(this.text, range(item)[0]);
    const lineStart = dash === undefined ? -1 : this.text.lastIndexOf('\n', dash - 1) + 1;
    if (dash === undefined || this.text.slice(lineStart, dash).trim() !== '') {
      throw new ConfigStoreError('ERR_CONFIG_STORE', `the layout of ${where} in the config file is not one this store can edit; edit it by hand`);
    }
    return { from: lineStart, to: lineEnd(this.text, range(item)[1]), column: dash - lineStart };
  }

  private context(doc: Document.Parsed): DiffContext {
    return { doc, text: this.text, style: this.style(doc) };
  }

  /**
   * Follows the file: are block lists indented under their keys (`key:\n  - a`) or not (`key:\n- a`)?
   * Judged by the first list inside an entry (what rendered entries hold), else by a top-level list.
   */
  private style(doc: Document.Parsed): Style {
    let nested: boolean | undefined;
    let topLevel: boolean | undefined;
    visit(doc, {
      Pair: (_key, pair, path) => {
        const seq = pair.value;
        if (!isSeq(seq) || seq.flow || seq.items.length === 0 || !isScalar(pair.key)) return undefined;
        const dash = dashBefore(this.text, range(seq.items[0] as Node)[0]);
        if (dash === undefined) return undefined;
        const indented = dash - (this.text.lastIndexOf('\n', dash - 1) + 1) > range(pair.key)[0] - (this.text.lastIndexOf('\n', range(pair.key)[0] - 1) + 1);
        if (path.length <= 2) topLevel ??= indented;
        else nested ??= indented;
        return nested === undefined ? undefined : visit.BREAK;
      },
    });
    return { indentSeq: nested ?? topLevel ?? true };
  }

  private splice(edits: readonly Splice[]): void {
    let text = this.text;
    for (const edit of [...edits].sort((a, b) => b.from - a.from)) text = text.slice(0, edit.from) + edit.text + text.slice(edit.to);
    this.text = text;
  }
}

interface DiffContext {
  readonly doc: Document.Parsed;
  readonly text: string;
  readonly style: Style;
}

/**
 * The splices that turn `node`'s text into `value` while keeping everything that did not change, or
 * undefined when the change cannot be made in place (the caller then re-renders a larger part).
 */
function diffNode(ctx: DiffContext, node: Node | null, value: unknown, inFlow: boolean): Splice[] | undefined {
  if (node !== null && sameValue(node.toJS(ctx.doc), value)) return [];
  // (an anchor in the entry is safe to edit: assertAnchorsNotShared refused the entry if anything used it)
  if (node === null || isAlias(node)) return undefined;
  if (isScalar(node)) {
    if (!isPrimitive(value) || node.type === 'BLOCK_FOLDED' || node.type === 'BLOCK_LITERAL') return undefined;
    return [{ from: range(node)[0], to: range(node)[1], text: scalarText(value, node.type, inFlow) }];
  }
  if (isCollection(node) && node.flow && !inFlow) {
    return [{ from: range(node)[0], to: range(node)[1], text: flowText(value) }];
  }
  if (isMap(node) && isPlainObject(value) && !inFlow) return diffMap(ctx, node, value);
  if (isSeq(node) && Array.isArray(value) && !inFlow && node.items.length === value.length) {
    const edits: Splice[] = [];
    for (const [i, item] of node.items.entries()) {
      const inner = diffNode(ctx, item as Node | null, value[i], false);
      if (inner === undefined) return undefined;
      edits.push(...inner);
    }
    return edits;
  }
  return undefined;
}

function diffMap(ctx: DiffContext, map: YAMLMap, value: Record<string, unknown>): Splice[] | undefined {
  const edits: Splice[] = [];
  const seen = new Set<string>();
  let column: number | undefined;
  for (const pair of map.items) {
    if (!isScalar(pair.key)) return undefined;
    const key = String(pair.key.value);
    seen.add(key);
    column ??= range(pair.key)[0] - (ctx.text.lastIndexOf('\n', range(pair.key)[0] - 1) + 1);
    if (!Object.hasOwn(value, key)) {
      const region = pairRegion(ctx.text, pair as Pair<Scalar, Node | null>);
      if (region === undefined) return undefined;
      edits.push({ ...region, text: '' });
      continue;
    }
    const inner = diffNode(ctx, pair.value as Node | null, value[key], false);
    if (inner !== undefined) {
      edits.push(...inner);
      continue;
    }
    // The value changed shape: re-render this pair alone, keeping what comments the Document holds.
    const region = pairRegion(ctx.text, pair as Pair<Scalar, Node | null>);
    if (region === undefined) return undefined;
    const merged = mergeNode(ctx.doc, pair.value as Node | null, value[key]);
    if (isCollection(merged)) merged.comment = null; // a trailing comment lies after the region and stays there
    const holder = new YAMLMap();
    holder.items.push(ctx.doc.createPair(pair.key, merged));
    edits.push({ ...region, text: renderDocument(holder, column, ctx.style) });
  }
  const added = Object.keys(value).filter((key) => !seen.has(key) && value[key] !== undefined);
  if (added.length > 0) {
    const last = map.items[map.items.length - 1];
    if (last === undefined || column === undefined) return undefined;
    const at = lineEnd(ctx.text, range((last.value ?? last.key) as Node)[1]);
    const lead = at > 0 && ctx.text[at - 1] !== '\n' ? '\n' : '';
    edits.push({ from: at, to: at, text: lead + added.map((key) => renderPairText(key, value[key], column, ctx.style)).join('') });
  }
  return edits;
}

/**
 * `node` changed into `value`, as a Document node: unchanged children are the same objects (with their
 * comments), changed scalars keep their node (and its comment), anything else is created afresh.
 */
function mergeNode(doc: Document.Parsed, node: Node | null, value: unknown): Node {
  if (node !== null && sameValue(node.toJS(doc), value)) return node;
  if (isScalar(node) && isPrimitive(value) && !isAlias(node)) {
    if (typeof value !== 'string' || typeof node.value !== 'string') delete node.type;
    node.value = value;
    return node;
  }
  if (isMap(node) && !node.flow && isPlainObject(value)) {
    node.items = node.items.filter((pair) => isScalar(pair.key) && Object.hasOwn(value, String(pair.key.value)) && value[String(pair.key.value)] !== undefined);
    for (const pair of node.items) pair.value = mergeNode(doc, pair.value as Node | null, value[String((pair.key as Scalar).value)]);
    const present = new Set(node.items.map((pair) => String((pair.key as Scalar).value)));
    for (const [key, child] of Object.entries(value)) if (!present.has(key) && child !== undefined) node.items.push(doc.createPair(key, child));
    return node;
  }
  if (isSeq(node) && !node.flow && Array.isArray(value)) {
    node.items = value.map((child, i) => mergeNode(doc, (node.items[i] ?? null) as Node | null, child));
    return node;
  }
  const created = doc.createNode(value) as Node;
  if (node !== null && node.commentBefore != null) created.commentBefore = node.commentBefore;
  return created;
}

/** `key: value` as block text, every line indented by `column`, ending in a newline. */
function renderPairText(key: string, value: unknown, column: number, style: Style): string {
  return indent(stringify({ [key]: value }, renderOptions(style)), column);
}

/** One node as the single item of `holder` (a sequence: `- ...`; a map: `key: ...`), indented by `column`. */
function renderBlock(holder: YAMLSeq, node: Node, column: number, style: Style): string {
  // The text before the entry (its comment lines, the blank line) is left in place, not rendered twice.
  node.commentBefore = null;
  node.spaceBefore = false;
  if (isCollection(node)) node.comment = null;
  holder.items.push(node);
  return renderDocument(holder, column, style);
}

/**
 * Renders `contents` in a document of its own. Aliases to anchors outside it would not resolve there, so
 * they go in as placeholders and come back as `*name`.
 */
function renderDocument(contents: YAMLMap | YAMLSeq, column: number, style: Style): string {
  const aliases: string[] = [];
  visit(contents, {
    Alias(_key, alias: Alias) {
      aliases.push(alias.source);
      return new Scalar(`__sluice_alias_${aliases.length - 1}__`);
    },
  });
  const single = new Document();
  single.contents = contents;
  const text = single.toString(renderOptions(style)).replace(ALIAS_PLACEHOLDER, (_m, n: string) => `*${aliases[Number(n)] ?? ''}`);
  return indent(text, column);
}

function renderOptions(style: Style): { lineWidth: number; indentSeq: boolean; flowCollectionPadding: boolean } {
  // lineWidth 0: a long SQL statement stays on one line instead of being folded at 80 characters.
  return { lineWidth: 0, indentSeq: style.indentSeq, flowCollectionPadding: false };
}

function indent(text: string, column: number): string {
  if (column === 0) return text;
  const pad = ' '.repeat(column);
  return text.split('\n').map((line) => (line === '' ? line : pad + line)).join('\n');
}

/** A scalar's new text, in the quoting style it had when that style can hold the value. */
function scalarText(value: string | number | boolean | null, type: Scalar.Type | undefined, inFlow: boolean): string {
  if (typeof value !== 'string') return value === null ? 'null' : String(value);
  if (type === 'QUOTE_DOUBLE') return JSON.stringify(value);
  if (type === 'QUOTE_SINGLE' && !value.includes('\n')) return `'${value.replace(/'/g, "''")}'`;
  const plain = stringify(value, { lineWidth: 0 }).replace(/\n$/, '');
  if (plain.includes('\n') || (inFlow && /[,[\]{}]/.test(plain))) return JSON.stringify(value);
  return plain;
}

/** A value as one-line flow text: YAML's own rendering when it fits on a line, JSON (valid YAML) otherwise. */
function flowText(value: unknown): string {
  const text = stringify(value, { collectionStyle: 'flow', lineWidth: 0, flowCollectionPadding: false }).replace(/\n$/, '');
  return text.includes('\n') ? JSON.stringify(value) : text;
}

/**
 * The text of a block-map pair, from the start of its key's line to the end of the line its value ends
 * on; undefined when the key does not start its line (the first key of a `- ` entry).
 */
function pairRegion(text: string, pair: Pair<Scalar, Node | null>): { from: number; to: number } | undefined {
  const keyStart = range(pair.key)[0];
  const from = text.lastIndexOf('\n', keyStart - 1) + 1;
  if (text.slice(from, keyStart).trim() !== '') return undefined;
  return { from, to: lineEnd(text, range(pair.value ?? pair.key)[1]) };
}

/** The offset just past the newline ending the line `offset` is on (or the text's end). */
function lineEnd(text: string, offset: number): number {
  if (offset > 0 && text[offset - 1] === '\n') return offset;
  const newline = text.indexOf('\n', offset);
  return newline === -1 ? text.length : newline + 1;
}

/** The offset of the `-` of a block-sequence entry whose value starts at `start`, past any `&anchor` or `!tag`. */
function dashBefore(text: string, start: number): number | undefined {
  let i = start;
  for (;;) {
    while (i > 0 && /\s/.test(text[i - 1] as string)) i--;
    if (text[i - 1] === '-' && (i === 1 || /\s/.test(text[i - 2] as string))) return i - 1;
    let token = i;
    while (token > 0 && !/\s/.test(text[token - 1] as string)) token--;
    if (token === i || (text[token] !== '&' && text[token] !== '!')) return undefined;
    i = token;
  }
}

/**
 * Refuses to edit an entry that defines an anchor another part of the file refers to: the change would
 * silently change that other part too.
 */
function assertAnchorsNotShared(doc: Document.Parsed, item: Node, where: string): void {
  const anchors = new Set<string>();
  visit(item, (_key, node) => {
    if ((isScalar(node) || isCollection(node)) && node.anchor !== undefined) anchors.add(node.anchor);
  });
  if (anchors.size === 0) return;
  visit(doc, (_key, node) => {
    if (node === item) return visit.SKIP;
    if (isAlias(node) && anchors.has(node.source)) {
      throw new ConfigStoreError('ERR_CONFIG_STORE', `${where} defines the anchor &${node.source}, which another part of the config file uses (*${node.source}); edit it by hand`);
    }
    return undefined;
  });
}

function range(node: Node | Scalar): [number, number, number] {
  const r = node.range;
  if (r === undefined || r === null) throw new ConfigStoreError('ERR_CONFIG_STORE', 'internal: a parsed node without a position');
  return r;
}

function isPrimitive(value: unknown): value is string | number | boolean | null {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    const definedB = Object.keys(b).filter((key) => b[key] !== undefined);
    return keys.length === definedB.length && keys.every((key) => Object.hasOwn(b, key) && sameValue(a[key], b[key]));
  }
  return false;
}
