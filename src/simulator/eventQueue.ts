import { grown } from './grown.js';

/**
 * A binary min-heap of timed events in parallel typed arrays: an event is (time, kind, id), with
 * no object per event, so a run of millions of batches allocates only when the heap grows.
 * `pop` leaves the event in `time`, `kind` and `id` instead of returning a tuple, for the same
 * reason. Events with equal times come out in an order fixed by the pushes, so runs repeat.
 */
export class EventQueue {
  private times: Float64Array;
  private kinds: Uint8Array;
  private ids: Int32Array;
  private count = 0;
  /** The last popped event. */
  time = 0;
  kind = 0;
  id = 0;

  constructor(capacity = 1024) {
    this.times = new Float64Array(capacity);
    this.kinds = new Uint8Array(capacity);
    this.ids = new Int32Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** The earliest event's time, +∞ when empty. */
  get nextTime(): number {
    return this.count > 0 ? (this.times[0] as number) : Number.POSITIVE_INFINITY;
  }

  push(time: number, kind: number, id: number): void {
    if (this.count === this.times.length) this.grow();
    const times = this.times;
    const kinds = this.kinds;
    const ids = this.ids;
    let i = this.count++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const parentTime = times[parent] as number;
      if (parentTime <= time) break;
      times[i] = parentTime;
      kinds[i] = kinds[parent] as number;
      ids[i] = ids[parent] as number;
      i = parent;
    }
    times[i] = time;
    kinds[i] = kind;
    ids[i] = id;
  }

  /** Removes the earliest event into `time`, `kind`, `id`. The queue must not be empty. */
  pop(): void {
    const times = this.times;
    const kinds = this.kinds;
    const ids = this.ids;
    this.time = times[0] as number;
    this.kind = kinds[0] as number;
    this.id = ids[0] as number;
    const n = --this.count;
    if (n === 0) return;
    const lastTime = times[n] as number;
    const lastKind = kinds[n] as number;
    const lastId = ids[n] as number;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && (times[right] as number) < (times[child] as number)) child = right;
      const childTime = times[child] as number;
      if (childTime >= lastTime) break;
      times[i] = childTime;
      kinds[i] = kinds[child] as number;
      ids[i] = ids[child] as number;
      i = child;
    }
    times[i] = lastTime;
    kinds[i] = lastKind;
    ids[i] = lastId;
  }

  private grow(): void {
    const capacity = this.times.length * 2;
    this.times = grown(this.times, capacity);
    this.kinds = grown(this.kinds, capacity);
    this.ids = grown(this.ids, capacity);
  }
}
