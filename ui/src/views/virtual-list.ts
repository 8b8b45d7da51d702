/**
 * A virtualized, variable-height list in a scrolling element: only the rows in view (plus
 * overscan) are in the DOM; the space of the others is padding. Heights are measured after
 * rendering and cached by key. See docs/ui.md.
 */
import { anchorAt, buildOffsets, centreOn, isAtBottom, restoreAnchor, visibleRange, type Anchor } from '../model/virtual-window';

export type Target = 'keep' | 'bottom' | { centre: string };

export type VirtualListOptions<R> = {
  key: (row: R) => string;
  create: (row: R) => HTMLElement;
  update: (node: HTMLElement, row: R) => void;
  /** Rows that should not be anchored to (day separators that move when pages are prepended). */
  weakAnchor?: (row: R) => boolean;
  estimate: number;
  overscan: number;
  /** After each scroll, with the distances to the top and the bottom. */
  onScroll?: (fromTop: number, fromBottom: number) => void;
  /** After each layout (the rows in the DOM may have changed: the roving focus is kept on one of them). */
  onRender?: () => void;
};

export class VirtualList<R> {
  readonly inner: HTMLElement;
  private rows: R[] = [];
  private keys: string[] = [];
  private offsets: number[] = [0];
  private readonly heights = new Map<string, number>();
  private readonly nodes = new Map<string, HTMLElement>();
  private frame = 0;
  private stuck = true;
  private width = 0;
  private layingOut = false;

  constructor(
    readonly scroller: HTMLElement,
    private readonly opts: VirtualListOptions<R>,
  ) {
    this.inner = document.createElement('div');
    this.inner.className = 'vl-inner';
    scroller.append(this.inner);
    scroller.addEventListener('scroll', () => this.onScroll(), { passive: true });
    if (typeof ResizeObserver !== 'undefined') {
      new ResizeObserver(() => {
        const width = this.scroller.clientWidth;
        if (width !== this.width) {
          // Wrapping changes with the width: measure again.
          this.width = width;
          this.heights.clear();
        }
        this.layout(this.stuck ? 'bottom' : 'keep');
      }).observe(scroller);
    }
  }

  /** How many rows are in the DOM now (for tests and debugging). */
  get renderedCount(): number {
    return this.nodes.size;
  }

  /** Whether the list was at the bottom after the last layout or scroll (sticks there). */
  get stuckToBottom(): boolean {
    return this.stuck;
  }

  get atBottom(): boolean {
    return isAtBottom(this.scroller.scrollTop, this.scroller.clientHeight, this.scroller.scrollHeight);
  }

  /** Replaces the rows. `keep` holds the row at the top of the view in place. */
  setRows(rows: R[], target: Target): void {
    const anchor = this.anchor();
    this.rows = rows;
    this.keys = rows.map(this.opts.key);
    this.offsets = buildOffsets(this.keys, this.heights, this.opts.estimate);
    this.layout(target, anchor);
  }

  /** The element of a row, when it is rendered. */
  node(key: string): HTMLElement | undefined {
    return this.nodes.get(key);
  }

  /** Scrolls to the last row (and stays there as rows come). */
  scrollToBottom(): void {
    this.layout('bottom');
  }

  /** Updates the rendered rows in place (e.g. a delivery state changed). */
  refresh(): void {
    this.layout('keep');
  }

  private anchor(): Anchor | null {
    const a = anchorAt(this.offsets, this.keys, this.scroller.scrollTop);
    if (a === null || this.opts.weakAnchor === undefined) return a;
    let i = this.keys.indexOf(a.key);
    while (i >= 0 && i < this.rows.length - 1 && this.opts.weakAnchor(this.rows[i] as R)) i++;
    const key = this.keys[i] as string;
    return { key, delta: this.scroller.scrollTop - (this.offsets[i] as number) };
  }

  private scrollTopFor(target: Target, anchor: Anchor | null): number {
    const total = this.offsets[this.offsets.length - 1] as number;
    const viewport = this.scroller.clientHeight;
    if (target === 'bottom') return Math.max(0, total - viewport);
    if (target !== 'keep') {
      const i = this.keys.indexOf(target.centre);
      if (i >= 0) return centreOn(this.offsets, i, viewport);
    }
    if (anchor !== null) {
      const y = restoreAnchor(this.offsets, this.keys, anchor);
      if (y !== null) return y;
    }
    return this.scroller.scrollTop;
  }

  private layout(target: Target, anchor: Anchor | null = this.anchor()): void {
    if (this.layingOut) return;
    this.layingOut = true;
    try {
      for (let pass = 0; pass < 5; pass++) {
        const top = this.scrollTopFor(target, anchor);
        this.renderAt(top);
        if (Math.abs(this.scroller.scrollTop - top) > 0.5) this.scroller.scrollTop = top;
        if (!this.measure()) break;
      }
      // Rows may have changed height: render what is now in view.
      this.renderAt(this.scroller.scrollTop);
    } finally {
      this.layingOut = false;
    }
    this.stuck = this.atBottom;
    this.opts.onRender?.();
  }

  private renderAt(scrollTop: number): void {
    const { start, end } = visibleRange(this.offsets, scrollTop, this.scroller.clientHeight || 600, this.opts.overscan);
    const total = this.offsets[this.offsets.length - 1] as number;
    this.inner.style.paddingTop = `${this.offsets[start] ?? 0}px`;
    this.inner.style.paddingBottom = `${total - (this.offsets[end] ?? total)}px`;
    const wanted = new Set<string>();
    let prev: HTMLElement | null = null;
    for (let i = start; i < end; i++) {
      const row = this.rows[i] as R;
      const key = this.keys[i] as string;
      wanted.add(key);
      let node = this.nodes.get(key);
      if (node === undefined) {
        node = this.opts.create(row);
        this.nodes.set(key, node);
      }
      this.opts.update(node, row);
      const at: ChildNode | null = prev === null ? this.inner.firstChild : prev.nextSibling;
      if (at !== node) this.inner.insertBefore(node, at);
      prev = node;
    }
    for (const [key, node] of this.nodes) {
      if (!wanted.has(key)) {
        node.remove();
        this.nodes.delete(key);
      }
    }
  }

  /** Caches the heights of the rendered rows; true when any differed from what was assumed. */
  private measure(): boolean {
    let changed = false;
    for (const [key, node] of this.nodes) {
      const h = node.getBoundingClientRect().height;
      if (h === 0) continue; // not laid out (hidden pane)
      const old = this.heights.get(key);
      if (old === undefined || Math.abs(old - h) > 0.5) {
        this.heights.set(key, h);
        if (Math.abs((old ?? this.opts.estimate) - h) > 0.5) changed = true;
      }
    }
    if (changed) this.offsets = buildOffsets(this.keys, this.heights, this.opts.estimate);
    return changed;
  }

  private onScroll(): void {
    if (this.layingOut || this.frame !== 0) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.stuck = this.atBottom;
      this.layout(this.stuck ? 'bottom' : 'keep');
      const s = this.scroller;
      this.opts.onScroll?.(s.scrollTop, s.scrollHeight - s.scrollTop - s.clientHeight);
    });
  }
}
