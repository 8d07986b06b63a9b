// The block pool of a paged KV cache: which of the fixed-size blocks are in use and by how many sequences (reference
// counts), which are free and in what order they are handed out, and the prefix-cache index (hash of a full block's
// tokens → the block that holds their keys and values). It only does bookkeeping on block numbers; the storage lives
// in PagedKvCache.
//
// Block 0 is the null block: never handed out, so a block table entry 0 always means "not allocated".
// Free blocks wait in one queue. A freed block that holds no cached prefix goes to the front (it is worth nothing, so
// it is reused first); a freed block that is in the prefix cache goes to the back, so cached blocks are evicted least
// recently freed first (LRU). Allocation takes the front block and, if it was cached, drops it from the index.
// A prefix-cache hit on a free block takes it out of the queue again (retain).

import { CacheError } from "./cache-error.ts";

/** The reserved block that no sequence owns. */
export const NULL_BLOCK = 0;

const NONE = -1;

/** A snapshot of a {@link BlockPool}'s block counts. */
export interface BlockPoolUsage {
  /** Blocks that can hold keys and values (all but the null block). */
  totalBlocks: number;
  /** Blocks no sequence references (cached ones included: they are evictable). */
  freeBlocks: number;
  /** Blocks referenced by at least one sequence. */
  usedBlocks: number;
  /** Blocks whose contents are in the prefix-cache index (used or free). */
  cachedBlocks: number;
  /** Free blocks that are in the prefix-cache index: reusable on a hit, evicted when the pool runs short. */
  evictableCachedBlocks: number;
}

/**
 * The bookkeeping of a paged cache's blocks: reference counts, the free queue (uncached blocks reused first, cached
 * ones evicted least recently freed first) and the prefix-cache index from a full block's chained token hash to the
 * block. Block 0 ({@link NULL_BLOCK}) is never handed out. A {@link PagedKvCache} owns one as its `pool`.
 */
export class BlockPool {
  /** Blocks in the pool, the null block included. */
  readonly blockCount: number;
  private readonly referenceCounts: Int32Array; // [blockCount]
  private readonly previousFree: Int32Array; // [blockCount] free-queue links, NONE at the ends
  private readonly nextFree: Int32Array; // [blockCount]
  private readonly inFreeQueue: Uint8Array; // [blockCount] 1 while the block waits in the free queue
  private readonly hashes: Array<string | undefined>; // [blockCount] prefix-cache key of the block's contents
  private readonly index = new Map<string, number>(); // block hash → block
  private freeHead = NONE;
  private freeTail = NONE;
  private freeCount = 0;
  private evictableCount = 0;

  constructor(blockCount: number) {
    if (!Number.isInteger(blockCount) || blockCount < 2) {
      throw new CacheError(`BlockPool: blockCount must be an integer ≥ 2 (block 0 is the reserved null block), got ${blockCount}`);
    }
    this.blockCount = blockCount;
    this.referenceCounts = new Int32Array(blockCount);
    this.previousFree = new Int32Array(blockCount).fill(NONE);
    this.nextFree = new Int32Array(blockCount).fill(NONE);
    this.inFreeQueue = new Uint8Array(blockCount);
    // Stryker disable next-line ArrayDeclaration: equivalent (an empty array reads undefined at every block as well)
    this.hashes = new Array<string | undefined>(blockCount).fill(undefined);
    for (let block = 1; block < blockCount; block++) this.pushBack(block);
  }

  /** Blocks that can be handed out: every block but the null block. */
  get totalBlocks(): number {
    return this.blockCount - 1;
  }

  /** Blocks no sequence references (evictable cached blocks included). */
  get freeBlocks(): number {
    return this.freeCount;
  }

  /** Blocks referenced by at least one sequence. */
  get usedBlocks(): number {
    return this.totalBlocks - this.freeCount;
  }

  /** The pool's counts now, cached blocks included. */
  usage(): BlockPoolUsage {
    return {
      totalBlocks: this.totalBlocks,
      freeBlocks: this.freeCount,
      usedBlocks: this.usedBlocks,
      cachedBlocks: this.index.size,
      evictableCachedBlocks: this.evictableCount,
    };
  }

  /** How many sequences use `block` (0: free). */
  referenceCount(block: number): number {
    this.requireBlock("referenceCount", block);
    return this.referenceCounts[block];
  }

  /** Takes `count` blocks off the free queue (evicting cached ones as needed), each with reference count 1; null
   *  (and nothing taken) when fewer than `count` are free. */
  tryAllocate(count: number): number[] | null {
    if (!Number.isInteger(count) || count < 0) throw new CacheError(`BlockPool.allocate: count must be an integer ≥ 0, got ${count}`);
    if (count > this.freeCount) return null;
    const blocks: number[] = [];
    for (let taken = 0; taken < count; taken++) {
      const block = this.freeHead;
      this.unlink(block);
      this.evict(block);
      this.referenceCounts[block] = 1;
      blocks.push(block);
    }
    return blocks;
  }

  /** One block; an error naming the pool's numbers when none is free. */
  allocate(): number {
    const blocks = this.tryAllocate(1);
    if (!blocks) throw new CacheError(`BlockPool: out of blocks: all ${this.totalBlocks} blocks are in use`);
    return blocks[0];
  }

  /** One more reference to `block` (a fork, or a prefix-cache hit). A free cached block leaves the free queue. */
  retain(block: number): void {
    this.requireBlock("retain", block);
    if (this.referenceCounts[block] === 0) {
      if (this.hashes[block] === undefined) throw new CacheError(`BlockPool.retain: block ${block} is free and holds no cached prefix; allocate it instead`);
      this.unlink(block);
    }
    this.referenceCounts[block]++;
  }

  /** Drops one reference; at zero the block becomes free (kept in the prefix cache when it is indexed). */
  release(block: number): void {
    this.requireBlock("release", block);
    if (this.referenceCounts[block] === 0) throw new CacheError(`BlockPool.release: double free of block ${block} (its reference count is already 0)`);
    if (--this.referenceCounts[block] > 0) return;
    if (this.hashes[block] === undefined) this.pushFront(block);
    else this.pushBack(block);
  }

  /** The block holding the contents with this hash, if cached. */
  lookup(hash: string): number | undefined {
    return this.index.get(hash);
  }

  /** The prefix-cache hash `block` is indexed under, if it is. */
  hashOf(block: number): string | undefined {
    this.requireBlock("hashOf", block);
    return this.hashes[block];
  }

  /**
   * Indexes a full, in-use block under the hash of its contents. Returns false (and changes nothing) when another block
   * already holds the same contents or this block is already indexed.
   */
  register(block: number, hash: string): boolean {
    this.requireBlock("register", block);
    if (this.referenceCounts[block] === 0) throw new CacheError(`BlockPool.register: block ${block} is free; only blocks in use can be cached`);
    if (this.index.has(hash) || this.hashes[block] !== undefined) return false;
    this.index.set(hash, block);
    this.hashes[block] = hash;
    return true;
  }

  /**
   * Takes an in-use block out of the prefix-cache index, because its owner is about to change its contents (after a
   * rollback, new rows go into a block that was full when it was indexed). Returns false when it was not indexed.
   */
  unregister(block: number): boolean {
    this.requireBlock("unregister", block);
    if (this.referenceCounts[block] === 0) throw new CacheError(`BlockPool.unregister: block ${block} is free; only blocks in use can be taken out of the index`);
    const hash = this.hashes[block];
    if (hash === undefined) return false;
    this.evict(block);
    return true;
  }

  /** Empties the prefix-cache index (free cached blocks stay free, now uncached). */
  clearPrefixCache(): void {
    for (const block of this.index.values()) {
      this.hashes[block] = undefined;
      if (this.inFreeQueue[block]) {
        this.evictableCount--;
        this.unlink(block);
        this.pushFront(block);
      }
    }
    this.index.clear();
  }

  /**
   * Checks every invariant and throws a CacheError describing the first one broken: reference counts ≥ 0; a block
   * is in the free queue exactly when its count is 0; free + used = total; the queue links agree with its length;
   * the index and the per-block hashes agree; the null block is never free or referenced.
   */
  checkInvariants(): void {
    const broken = (message: string): never => {
      throw new CacheError(`BlockPool invariant broken: ${message}`);
    };
    if (this.referenceCounts[NULL_BLOCK] !== 0 || this.inFreeQueue[NULL_BLOCK]) broken("the null block 0 is referenced or free");
    let free = 0;
    let used = 0;
    let evictable = 0;
    for (let block = 1; block < this.blockCount; block++) {
      const count = this.referenceCounts[block];
      if (count < 0) broken(`block ${block} has reference count ${count}`);
      if ((count === 0) !== (this.inFreeQueue[block] === 1)) broken(`block ${block} has reference count ${count} but is ${this.inFreeQueue[block] ? "" : "not "}in the free queue`);
      if (count === 0) free++;
      else used++;
      const hash = this.hashes[block];
      if (hash !== undefined && this.index.get(hash) !== block) broken(`block ${block} has hash ${hash} that the index does not map to it`);
      if (hash !== undefined && count === 0) evictable++;
    }
    if (free !== this.freeCount) broken(`${free} blocks have reference count 0 but the free count is ${this.freeCount}`);
    // Stryker disable next-line ConditionalExpression,StringLiteral: equivalent (free + used counts blocks 1..blockCount − 1 by construction; kept as documentation)
    if (free + used !== this.totalBlocks) broken(`free ${free} + used ${used} ≠ total ${this.totalBlocks}`);
    if (evictable !== this.evictableCount) broken(`${evictable} free cached blocks but the evictable count is ${this.evictableCount}`);
    let walked = 0;
    let previous = NONE;
    for (let block = this.freeHead; block !== NONE; block = this.nextFree[block]) {
      if (this.previousFree[block] !== previous) broken(`free-queue link of block ${block} points back to ${this.previousFree[block]}, expected ${previous}`);
      // Stryker disable next-line EqualityOperator,StringLiteral: equivalent (a cycle always breaks a back link first, above: the first block met twice has two predecessors)
      if (++walked > this.blockCount) broken("the free queue has a cycle");
      previous = block;
    }
    if (previous !== this.freeTail) broken(`the free queue ends at ${previous}, but its tail is ${this.freeTail}`);
    if (walked !== this.freeCount) broken(`the free queue holds ${walked} blocks, but the free count is ${this.freeCount}`);
    for (const [hash, block] of this.index) if (this.hashes[block] !== hash) broken(`the index maps ${hash} to block ${block}, which holds ${this.hashes[block]}`);
  }

  private requireBlock(operation: string, block: number): void {
    if (!Number.isInteger(block) || block < 1 || block >= this.blockCount) {
      const what = block === NULL_BLOCK ? "the null block 0 is reserved" : `block ${block} is outside 1..${this.blockCount - 1}`;
      throw new CacheError(`BlockPool.${operation}: ${what}`);
    }
  }

  /** Drops a block that is being reused from the prefix-cache index. */
  private evict(block: number): void {
    const hash = this.hashes[block];
    // Stryker disable next-line ConditionalExpression: equivalent (deleting the key undefined and clearing an unset hash change nothing)
    if (hash === undefined) return;
    this.index.delete(hash);
    this.hashes[block] = undefined;
  }

  private pushFront(block: number): void {
    this.previousFree[block] = NONE;
    this.nextFree[block] = this.freeHead;
    if (this.freeHead !== NONE) this.previousFree[this.freeHead] = block;
    else this.freeTail = block;
    this.freeHead = block;
    this.linked(block);
  }

  private pushBack(block: number): void {
    this.nextFree[block] = NONE;
    this.previousFree[block] = this.freeTail;
    if (this.freeTail !== NONE) this.nextFree[this.freeTail] = block;
    else this.freeHead = block;
    this.freeTail = block;
    this.linked(block);
  }

  private linked(block: number): void {
    this.inFreeQueue[block] = 1;
    this.freeCount++;
    if (this.hashes[block] !== undefined) this.evictableCount++;
  }

  private unlink(block: number): void {
    const previous = this.previousFree[block];
    const next = this.nextFree[block];
    if (previous !== NONE) this.nextFree[previous] = next;
    else this.freeHead = next;
    if (next !== NONE) this.previousFree[next] = previous;
    else this.freeTail = previous;
    this.previousFree[block] = NONE;
    this.nextFree[block] = NONE;
    this.inFreeQueue[block] = 0;
    this.freeCount--;
    if (this.hashes[block] !== undefined) this.evictableCount--;
  }
}
