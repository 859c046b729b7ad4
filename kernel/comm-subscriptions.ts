/**
 * Which dispatches some open comm is subscribed to, across all comms of the
 * kernel. While one is, the comm carries the live deltas, and the notebook
 * display of that dispatch is updated only when it ends (one channel per job).
 */
export class CommSubscriptions {
  private readonly counts = new Map<string, number>();

  add(dispatchId: string): void {
    this.counts.set(dispatchId, (this.counts.get(dispatchId) ?? 0) + 1);
  }

  remove(dispatchId: string): void {
    const n = (this.counts.get(dispatchId) ?? 0) - 1;
    if (n > 0) this.counts.set(dispatchId, n);
    else this.counts.delete(dispatchId);
  }

  has(dispatchId: string): boolean {
    return this.counts.has(dispatchId);
  }
}
