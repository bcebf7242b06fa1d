/**
 * Who subscribed to what, as a trie over topic levels (docs/protocol.md §10): one node per
 * distinct pattern prefix, with a child per literal level, one `+` child and one `#` child.
 * A publish walks only the branches its topic can reach — at each level the literal child
 * (one map lookup), the `+` child and the `#` child — so its cost follows the levels of the
 * topic and the subscribers it reaches, not the number of patterns held. With a million
 * patterns elsewhere in the tree, a publish to `chat/lobby` still looks at a handful of nodes.
 *
 * The matching rules are those of {@link topicMatches}, which the tests use as the oracle.
 */

/** One node of the trie: the patterns that end here, and the levels that continue them. */
class TopicNode<T> {
  readonly parent: TopicNode<T> | null;
  /** The level that leads here from `parent` (`+` and `#` included). */
  readonly level: string;
  /** Literal child levels; made on the first one (most nodes are leaves). */
  children: Map<string, TopicNode<T>> | null = null;
  plus: TopicNode<T> | null = null;
  hash: TopicNode<T> | null = null;
  /**
   * The subscribers of the pattern that ends at this node. Most patterns have one
   * subscriber: it is kept as it is, and a Set is made only for a second one.
   */
  one: T | undefined = undefined;
  many: Set<T> | null = null;

  constructor(parent: TopicNode<T> | null, level: string) {
    this.parent = parent;
    this.level = level;
  }

  get empty(): boolean {
    return (
      this.one === undefined &&
      this.many === null &&
      this.plus === null &&
      this.hash === null &&
      (this.children === null || this.children.size === 0)
    );
  }

  has(subscriber: T): boolean {
    return this.many !== null ? this.many.has(subscriber) : this.one === subscriber;
  }

  add(subscriber: T): boolean {
    if (this.many !== null) {
      if (this.many.has(subscriber)) return false;
      this.many.add(subscriber);
      return true;
    }
    if (this.one === undefined) {
      this.one = subscriber;
      return true;
    }
    if (this.one === subscriber) return false;
    this.many = new Set([this.one, subscriber]);
    this.one = undefined;
    return true;
  }

  delete(subscriber: T): boolean {
    if (this.many !== null) {
      if (!this.many.delete(subscriber)) return false;
      if (this.many.size === 1) {
        this.one = this.many.values().next().value as T;
        this.many = null;
      }
      return true;
    }
    if (this.one !== subscriber || subscriber === undefined) return false;
    this.one = undefined;
    return true;
  }

  child(level: string): TopicNode<T> | null {
    if (level === '+') return this.plus;
    if (level === '#') return this.hash;
    return this.children?.get(level) ?? null;
  }

  /** The child for `level`, made if missing. */
  grow(level: string): TopicNode<T> {
    const existing = this.child(level);
    if (existing !== null) return existing;
    const node = new TopicNode(this, level);
    if (level === '+') this.plus = node;
    else if (level === '#') this.hash = node;
    else (this.children ??= new Map()).set(level, node);
    return node;
  }

  /** Unlinks the empty child `node`. */
  drop(node: TopicNode<T>): void {
    if (this.plus === node) this.plus = null;
    else if (this.hash === node) this.hash = null;
    else {
      this.children?.delete(node.level);
      if (this.children?.size === 0) this.children = null;
    }
  }
}

/**
 * A set of (pattern, subscriber) pairs, matched against published topics. Patterns must be
 * valid (`validatePattern`); topics must be valid (`validateTopic`).
 *
 * @example
 * const index = new TopicIndex<string>();
 * index.add('chat/+', 'alice');
 * index.add('chat/#', 'alice');
 * index.add('news/#', 'bob');
 * index.forEachMatch('chat/lobby', (who) => console.log(who)); // alice, once
 */
export class TopicIndex<T> {
  readonly #root = new TopicNode<T>(null, '');
  #size = 0;

  /** Pairs held: every subscriber's patterns, counted once each. */
  get size(): number {
    return this.#size;
  }

  /** Adds `subscriber` under `pattern`; false if the pair was already there. */
  add(pattern: string, subscriber: T): boolean {
    let node = this.#root;
    for (const level of pattern.split('/')) node = node.grow(level);
    if (!node.add(subscriber)) return false;
    this.#size++;
    return true;
  }

  /** Whether `subscriber` holds exactly `pattern`. */
  has(pattern: string, subscriber: T): boolean {
    return this.#find(pattern)?.has(subscriber) === true;
  }

  /** Removes the pair (and the nodes it alone kept); false if it was not there. */
  delete(pattern: string, subscriber: T): boolean {
    let node = this.#find(pattern);
    if (node === null || !node.delete(subscriber)) return false;
    this.#size--;
    while (node.parent !== null && node.empty) {
      node.parent.drop(node);
      node = node.parent;
    }
    return true;
  }

  /**
   * Calls `visit` once for each subscriber with at least one pattern matching `topic`
   * (once, however many of its patterns match). Returns how many were visited. `visit` may
   * add and remove pairs; a pair added during the walk may or may not be visited.
   */
  forEachMatch(topic: string, visit: (subscriber: T) => void): number {
    const found: Array<TopicNode<T>> = [];
    collect(this.#root, topic.split('/'), 0, found);
    if (found.length === 0) return 0;
    if (found.length === 1) return visitNode(found[0]!, visit, null);
    // Several patterns matched: a subscriber may hold more than one of them.
    const seen = new Set<T>();
    let n = 0;
    for (const node of found) n += visitNode(node, visit, seen);
    return n;
  }

  /** Every subscriber matching `topic`, once each (a convenience over {@link forEachMatch}). */
  match(topic: string): Set<T> {
    const out = new Set<T>();
    this.forEachMatch(topic, (s) => out.add(s));
    return out;
  }

  #find(pattern: string): TopicNode<T> | null {
    let node: TopicNode<T> | null = this.#root;
    for (const level of pattern.split('/')) {
      node = node.child(level);
      if (node === null) return null;
    }
    return node;
  }
}

/** The nodes whose pattern matches the topic `levels` from `i` on, under `node`. */
function collect<T>(
  node: TopicNode<T>,
  levels: readonly string[],
  i: number,
  found: Array<TopicNode<T>>,
): void {
  // `#` matches the rest of the topic, however many levels that is (none included).
  if (node.hash !== null) found.push(node.hash);
  if (i === levels.length) {
    if (node.one !== undefined || node.many !== null) found.push(node);
    return;
  }
  const literal = node.children?.get(levels[i]!);
  if (literal !== undefined) collect(literal, levels, i + 1, found);
  if (node.plus !== null) collect(node.plus, levels, i + 1, found);
}

function visitNode<T>(node: TopicNode<T>, visit: (subscriber: T) => void, seen: Set<T> | null): number {
  if (node.many === null) {
    const one = node.one;
    if (one === undefined || seen?.has(one)) return 0;
    seen?.add(one);
    visit(one);
    return 1;
  }
  let n = 0;
  // A Set iterator skips what `visit` deletes and reaches what it adds: no copy needed.
  for (const subscriber of node.many) {
    if (seen !== null) {
      if (seen.has(subscriber)) continue;
      seen.add(subscriber);
    }
    visit(subscriber);
    n++;
  }
  return n;
}
