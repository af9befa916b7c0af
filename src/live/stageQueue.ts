/** A replica as the stage queue sees it: an identity, a capacity, and whether it takes work. */
export interface QueueReplica {
  /** Unique within the stage, e.g. `http://127.0.0.1:41234/classify-logreg`. */
  key: string;
  /** Requests this replica may have in flight at once (1, or its max batch size). */
  maxInFlight: number;
}

/** A slot on one replica, held while one request is at it. `release` is safe to call twice. */
export interface Lease<R extends QueueReplica> {
  replica: R;
  release(): void;
}

/** The request waited in the queue past its drop deadline. */
export class DroppedError extends Error {
  constructor(readonly stage: string) {
    super(`request dropped: it waited past the drop limit for stage ${stage}`);
    this.name = 'DroppedError';
  }
}

interface Waiter<R extends QueueReplica> {
  resolve(lease: Lease<R>): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
  done: boolean;
}

interface Slot<R extends QueueReplica> {
  replica: R;
  inFlight: number;
  /** False once removed: it takes no new request and disappears when its last one finishes. */
  active: boolean;
  ready: boolean;
  /** Requests handed to it so far. */
  served: number;
}

/**
 * One stage's FIFO queue in front of its replicas. A request asks for a slot (`acquire`); it
 * gets the ready, active replica with the fewest requests in flight (ties: round-robin) that is below its `maxInFlight`, else it waits in arrival order. A request still waiting
 * at its deadline is rejected with `DroppedError` at that moment (IPA's drop rule). No I/O here:
 * the gateway does the HTTP and tells the queue which replicas are ready.
 */
export class StageQueue<R extends QueueReplica> {
  private readonly slots = new Map<string, Slot<R>>();
  private readonly waiting: Waiter<R>[] = [];
  private waitingCount = 0;
  private cursor = 0;

  constructor(readonly stage: string) {}

  /** Requests waiting for a replica (dropped ones no longer count). */
  get queueLength(): number {
    return this.waitingCount;
  }

  /** Replicas that are ready and active: the ones new requests go to. */
  readyReplicas(): R[] {
    return [...this.slots.values()].filter((s) => s.active && s.ready).map((s) => s.replica);
  }

  /** Every replica still known: active ones and removed ones still finishing requests. */
  allReplicas(): { replica: R; inFlight: number; active: boolean; ready: boolean; served: number }[] {
    return [...this.slots.values()].map((s) => ({ ...s }));
  }

  /**
   * Makes `replicas` the active set. New ones start not ready (see `setReady`); ones left out
   * take no new request and are forgotten once their in-flight requests finish. Returns the
   * replicas added and the ones whose last request has already finished (gone now).
   */
  setReplicas(replicas: R[]): { added: R[]; gone: R[] } {
    const wanted = new Map(replicas.map((r) => [r.key, r]));
    const added: R[] = [];
    const gone: R[] = [];
    for (const [key, slot] of this.slots) {
      if (wanted.has(key)) continue;
      slot.active = false;
      if (slot.inFlight === 0) {
        this.slots.delete(key);
        gone.push(slot.replica);
      }
    }
    for (const [key, replica] of wanted) {
      const slot = this.slots.get(key);
      if (slot) {
        slot.replica = replica;
        slot.active = true;
        continue;
      }
      this.slots.set(key, { replica, inFlight: 0, active: true, ready: false, served: 0 });
      added.push(replica);
    }
    this.dispatch();
    return { added, gone };
  }

  /** Marks a replica ready (it takes requests) or not (it is skipped until ready again). */
  setReady(key: string, ready: boolean): void {
    const slot = this.slots.get(key);
    if (!slot) return;
    slot.ready = ready;
    if (ready) this.dispatch();
  }

  isActive(key: string): boolean {
    return this.slots.get(key)?.active ?? false;
  }

  /** Waits for a slot; rejects with `DroppedError` if none is free by `deadline` (epoch ms). */
  acquire(deadline: number): Promise<Lease<R>> {
    const free = this.pick();
    if (free && this.waitingCount === 0) return Promise.resolve(this.lease(free));
    return new Promise((resolve, reject) => {
      const waiter: Waiter<R> = {
        resolve,
        reject,
        done: false,
        timer: setTimeout(
          () => {
            if (waiter.done) return;
            waiter.done = true;
            this.waitingCount--;
            reject(new DroppedError(this.stage));
          },
          Math.max(0, deadline - Date.now()),
        ),
      };
      this.waiting.push(waiter);
      this.waitingCount++;
    });
  }

  /** Rejects every waiting request with `error` (the gateway is closing). */
  rejectAll(error: Error): void {
    for (const waiter of this.waiting.splice(0)) {
      if (waiter.done) continue;
      waiter.done = true;
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.waitingCount = 0;
  }

  /** The free replica with the fewest in flight; ties go round-robin so idle replicas share the load. */
  private pick(): Slot<R> | undefined {
    const slots = [...this.slots.values()];
    let best: Slot<R> | undefined;
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[(this.cursor + i) % slots.length] as Slot<R>;
      if (!slot.active || !slot.ready || slot.inFlight >= slot.replica.maxInFlight) continue;
      if (!best || slot.inFlight < best.inFlight) best = slot;
    }
    if (best) this.cursor = (slots.indexOf(best) + 1) % slots.length;
    return best;
  }

  private lease(slot: Slot<R>): Lease<R> {
    slot.inFlight++;
    slot.served++;
    let released = false;
    return {
      replica: slot.replica,
      release: () => {
        if (released) return;
        released = true;
        slot.inFlight--;
        if (!slot.active && slot.inFlight === 0 && this.slots.get(slot.replica.key) === slot) {
          this.slots.delete(slot.replica.key);
          this.onGone?.(slot.replica);
        }
        this.dispatch();
      },
    };
  }

  /** Called when a removed replica's last request has finished. */
  onGone?: (replica: R) => void;

  /** Hands free slots to the oldest waiting requests. */
  private dispatch(): void {
    while (this.waiting.length > 0) {
      const head = this.waiting[0] as Waiter<R>;
      if (head.done) {
        this.waiting.shift();
        continue;
      }
      const free = this.pick();
      if (!free) return;
      this.waiting.shift();
      head.done = true;
      this.waitingCount--;
      clearTimeout(head.timer);
      head.resolve(this.lease(free));
    }
  }
}
