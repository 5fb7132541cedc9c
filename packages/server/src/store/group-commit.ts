/**
 * Group commit: writes submitted while a commit is in flight wait and go
 * together in the next transaction, so one fsync covers many requests.
 * Each submitter's promise settles with its own result once the group's
 * transaction is durable (or failed, for everyone in it).
 */
export class GroupCommitter<Op, Res> {
  private pending: { op: Op; resolve: (r: Res) => void; reject: (e: unknown) => void }[] = [];
  private inFlight = 0;
  private scheduled = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly run: (ops: Op[]) => Promise<Res[]>,
    private readonly opts: { maxInFlight: number; maxGroupWeight: number; weight: (op: Op) => number },
  ) {}

  submit(op: Op): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.pending.push({ op, resolve, reject });
      // defer the first commit by one turn of the event loop so writes that
      // arrive together are grouped even when nothing is in flight
      if (!this.scheduled && this.inFlight < this.opts.maxInFlight) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.kick();
        });
      }
    });
  }

  /** Ops waiting or being committed. */
  get size(): number {
    return this.pending.length + this.inFlight;
  }

  /** Resolves when nothing is pending or in flight. */
  idle(): Promise<void> {
    if (this.pending.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private kick(): void {
    while (this.inFlight < this.opts.maxInFlight && this.pending.length > 0) {
      let weight = 0;
      let n = 0;
      while (n < this.pending.length && (n === 0 || weight + this.opts.weight(this.pending[n].op) <= this.opts.maxGroupWeight)) {
        weight += this.opts.weight(this.pending[n].op);
        n++;
      }
      const group = this.pending.splice(0, n);
      this.inFlight++;
      this.run(group.map((g) => g.op)).then(
        (results) => group.forEach((g, i) => g.resolve(results[i])),
        (err) => group.forEach((g) => g.reject(err)),
      ).finally(() => {
        this.inFlight--;
        this.kick();
        if (this.pending.length === 0 && this.inFlight === 0) this.idleWaiters.splice(0).forEach((r) => r());
      });
    }
  }
}
