/**
 * The lists the grammar builds while nearley parses (select fields, IN lists, arguments, paths, WHEN
 * lists, FROM lists).
 *
 * An Earley parser completes a list rule once per item and keeps every partial result alive, and the
 * same partial list may be extended by several competing derivations. Copying the list at each step
 * (`[...list, item]`) made parsing quadratic in time and memory (30,000 fields took 4 GB); pushing into
 * a shared array is wrong, since two derivations would push into one array. A persistent linked list is
 * both: adding an item is O(1), allocates one cell, and never changes what another derivation holds.
 * Once the parse is done, finishTree() (parser.ts) turns each list of the final tree into an array, once.
 */
export abstract class Deferred<T> {
  abstract readonly length: number;
  /** The items as a fresh array, first to last. */
  abstract toArray(): T[];
}

/** A list of items, built back to front: each cell holds its last item and the list before it. */
export class Seq<T> extends Deferred<T> {
  private static readonly EMPTY = new Seq<unknown>(undefined, undefined, 0);

  static empty<T>(): Seq<T> {
    return Seq.EMPTY as Seq<T>;
  }

  static of<T>(item: T): Seq<T> {
    return new Seq(item, Seq.empty<T>(), 1);
  }

  private constructor(
    private readonly last: T | undefined,
    private readonly before: Seq<T> | undefined,
    readonly length: number,
  ) {
    super();
  }

  add(item: T): Seq<T> {
    return new Seq(item, this, this.length + 1);
  }

  toArray(): T[] {
    const items = new Array<T>(this.length);
    let cell: Seq<T> = this;
    for (let i = this.length - 1; i >= 0; i--) {
      items[i] = cell.last as T;
      cell = cell.before as Seq<T>;
    }
    return items;
  }
}

/** One item in front of a list (`name` then the segments of a path), without copying the list. */
export class Prefixed<T> extends Deferred<T> {
  readonly length: number;

  constructor(
    private readonly first: T,
    private readonly rest: Seq<T>,
  ) {
    super();
    this.length = rest.length + 1;
  }

  toArray(): T[] {
    const items = this.rest.toArray();
    items.unshift(this.first);
    return items;
  }
}
