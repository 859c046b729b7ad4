/**
 * Which tasks lie downstream of which, for every node of a graph at once: one
 * bit set of descendants per node, built in reverse topological order (a node's
 * set is the union of its children's sets and the children themselves). Asking
 * "how many unfinished tasks does cancelling X also stop" is then a word-wise
 * AND and popcount instead of a graph walk per node per update.
 *
 * Memory is nodes² / 8 bytes, so graphs above `REACH_MAX_NODES` get none and
 * callers walk the graph on demand instead.
 */
export const REACH_MAX_NODES = 4000;

export class Reachability {
  /** Null when the graph is too large (or has a cycle, which a dispatch never has). */
  static build(ids: number[], parentsOf: (id: number) => number[]): Reachability | null {
    if (ids.length > REACH_MAX_NODES) {
      return null;
    }
    const index = new Map(ids.map((id, i) => [id, i]));
    const children: number[][] = ids.map(() => []);
    const indegree = new Array<number>(ids.length).fill(0);
    ids.forEach((id, i) => {
      for (const p of parentsOf(id)) {
        const pi = index.get(p);
        if (pi !== undefined && pi !== i) {
          children[pi].push(i);
          indegree[i]++;
        }
      }
    });
    // Kahn's order; then descendants are known before their ancestors when walked backwards.
    const order: number[] = [];
    const queue = indegree.map((d, i) => (d === 0 ? i : -1)).filter(i => i >= 0);
    while (queue.length) {
      const i = queue.pop()!;
      order.push(i);
      for (const c of children[i]) {
        if (--indegree[c] === 0) {
          queue.push(c);
        }
      }
    }
    if (order.length !== ids.length) {
      return null;
    }
    const words = Math.ceil(ids.length / 32);
    const sets = ids.map(() => new Uint32Array(words));
    for (let k = order.length - 1; k >= 0; k--) {
      const i = order[k];
      const set = sets[i];
      for (const c of children[i]) {
        set[c >>> 5] |= 1 << (c & 31);
        const cs = sets[c];
        for (let w = 0; w < words; w++) {
          set[w] |= cs[w];
        }
      }
    }
    return new Reachability(ids, index, sets, words);
  }

  private constructor(
    private readonly _ids: number[],
    private readonly _index: Map<number, number>,
    private readonly _sets: Uint32Array[],
    words: number
  ) {
    this._mask = new Uint32Array(words);
  }

  /** Mark a node as counted (unfinished) or not. */
  setCounted(id: number, counted: boolean): void {
    const i = this._index.get(id);
    if (i === undefined) {
      return;
    }
    if (counted) {
      this._mask[i >>> 5] |= 1 << (i & 31);
    } else {
      this._mask[i >>> 5] &= ~(1 << (i & 31));
    }
  }

  /** How many counted nodes lie downstream of `id`. */
  countDownstream(id: number): number {
    const set = this._sets[this._index.get(id) ?? -1];
    if (!set) {
      return 0;
    }
    let n = 0;
    for (let w = 0; w < set.length; w++) {
      n += popcount(set[w] & this._mask[w]);
    }
    return n;
  }

  /** The counted nodes downstream of `id`, in id order. */
  downstream(id: number): number[] {
    const set = this._sets[this._index.get(id) ?? -1];
    const out: number[] = [];
    if (set) {
      for (let w = 0; w < set.length; w++) {
        let bits = set[w] & this._mask[w];
        while (bits) {
          const low = bits & -bits;
          out.push(this._ids[w * 32 + 31 - Math.clz32(low)]);
          bits ^= low;
        }
      }
    }
    return out.sort((a, b) => a - b);
  }

  private readonly _mask: Uint32Array;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
