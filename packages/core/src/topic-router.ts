/**
 * MQTT topic filters: matching one topic against one filter, and routing a topic to every value whose
 * filters match it (a trie over topic levels, so the cost grows with the topic's depth, not with the
 * number of filters).
 *
 * Rules (MQTT 3.1.1 §4.7, as EMQX applies them): levels split on '/', empty levels count; '+' matches
 * exactly one level; '#' matches the rest, including nothing ('a/#' matches 'a'); a topic whose first
 * level starts with '$' is not matched by a filter that starts with a wildcard.
 */
export function matchTopic(topic: string, filter: string): boolean {
  const t = topic.split('/');
  const f = filter.split('/');
  if (t[0]?.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return t.length === f.length;
}

/** Throws a TypeError naming what is wrong when `filter` is not a valid MQTT topic filter. */
export function assertValidTopicFilter(filter: string): void {
  if (filter.length === 0) throw new TypeError('a topic filter cannot be empty');
  const levels = filter.split('/');
  levels.forEach((level, i) => {
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) {
      throw new TypeError(`topic filter "${filter}": '#' must be a whole level and the last one`);
    }
    if (level.includes('+') && level !== '+') {
      throw new TypeError(`topic filter "${filter}": '+' must be a whole level`);
    }
  });
}

interface TrieNode<T> {
  readonly children: Map<string, TrieNode<T>>;
  /** Values whose filter ends exactly at this node. */
  readonly values: T[];
  /** Values whose filter ends with '#' right below this node. */
  readonly hashValues: T[];
}

const newNode = <T>(): TrieNode<T> => ({ children: new Map(), values: [], hashValues: [] });

/**
 * Routes topics to values (rules) registered under topic filters. match() results are cached per topic
 * (most deployments see the same topics over and over); the cache is bounded and cleared when the
 * routes change.
 */
export class TopicRouter<T> {
  private readonly root: TrieNode<T> = newNode();
  private readonly cache = new Map<string, readonly T[]>();

  constructor(private readonly cacheLimit = 10_000) {}

  add(filter: string, value: T): void {
    assertValidTopicFilter(filter);
    let node = this.root;
    for (const level of filter.split('/')) {
      if (level === '#') {
        node.hashValues.push(value);
        this.cache.clear();
        return;
      }
      let child = node.children.get(level);
      if (child === undefined) {
        child = newNode();
        node.children.set(level, child);
      }
      node = child;
    }
    node.values.push(value);
    this.cache.clear();
  }

  /** Every value whose filter matches `topic`, each once, in registration order within a filter. */
  match(topic: string): readonly T[] {
    const cached = this.cache.get(topic);
    if (cached !== undefined) return cached;
    const found: T[] = [];
    const levels = topic.split('/');
    this.collect(this.root, levels, 0, levels[0]?.startsWith('$') === true, found);
    const result = found.length > 1 ? [...new Set(found)] : found;
    if (this.cache.size >= this.cacheLimit) this.cache.clear();
    this.cache.set(topic, result);
    return result;
  }

  private collect(node: TrieNode<T>, levels: readonly string[], depth: number, dollarTopic: boolean, found: T[]): void {
    const wildcardsAllowed = !(depth === 0 && dollarTopic);
    if (wildcardsAllowed) found.push(...node.hashValues);
    if (depth === levels.length) {
      found.push(...node.values);
      return;
    }
    const level = levels[depth] as string;
    const exact = node.children.get(level);
    if (exact !== undefined) this.collect(exact, levels, depth + 1, dollarTopic, found);
    if (wildcardsAllowed) {
      const plus = node.children.get('+');
      if (plus !== undefined) this.collect(plus, levels, depth + 1, dollarTopic, found);
    }
  }
}
