// A binary heap used by the BPE merge loops (pop returns the element `comesFirst` ranks highest).

export class PriorityQueue<Item> {
  private readonly items: Item[] = [];

  constructor(private readonly comesFirst: (a: Item, b: Item) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  push(item: Item): void {
    const items = this.items;
    items.push(item);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.comesFirst(items[index], items[parent])) break;
      [items[index], items[parent]] = [items[parent], items[index]];
      index = parent;
    }
  }

  pop(): Item | undefined {
    const items = this.items;
    if (items.length === 0) return undefined;
    const top = items[0];
    const last = items.pop() as Item;
    if (items.length > 0) {
      items[0] = last;
      let index = 0;
      for (;;) {
        const left = 2 * index + 1;
        const right = left + 1;
        let best = index;
        if (left < items.length && this.comesFirst(items[left], items[best])) best = left;
        if (right < items.length && this.comesFirst(items[right], items[best])) best = right;
        if (best === index) break;
        [items[index], items[best]] = [items[best], items[index]];
        index = best;
      }
    }
    return top;
  }
}
