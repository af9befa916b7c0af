import type { PasMethod } from '../model/pipelineSpec.js';
import { EventQueue } from './eventQueue.js';
import { grown } from './grown.js';
import { RandomVariates } from './randomVariates.js';
import { type SecondSeries, SecondStats } from './secondStats.js';
import { ServiceTable, type ServiceTime } from './serviceTime.js';

/** What one stage runs: an option (variant, shape, batch) on `replicas` servers. */
export interface StagePlan {
  /** Names the option: a new key rolls the stage out, the same key with other replicas scales it. */
  key: string;
  batch: number;
  replicas: number;
  /** The stage's a_s in PAS: accuracy as a fraction. */
  accuracy: number;
  /** What one replica costs per second of allocation, as the optimizer prices it. */
  costPerReplica: number;
  /** `service[k − 1]`: the time of a batch of k requests, for k = 1…batch. */
  service: readonly ServiceTime[];
  /** How long its servers hold a partial batch, ms; absent: the stage's (SimulatorOptions.batchTimeoutMs). */
  batchTimeoutMs?: number;
}

export interface SimulatorOptions {
  /** Request arrival times in ms, ascending; request ids are indices into it. */
  arrivalsMs: Float64Array;
  stages: number;
  slaMs: number;
  /** A request still waiting for a stage this long after it arrived is dropped (IPA's drop_limit). +∞: never. */
  dropLimitMs: number;
  /** How long a stage's queue holds a partial batch before sending it (per stage, or one for all), unless its plan says. */
  batchTimeoutMs: number | readonly number[];
  /** From a reconfiguration to its new replicas being ready to serve. */
  reconfigurationDelayMs: number;
  pas: PasMethod;
  seed: number;
  /** Series length at least this many seconds (the run's horizon), even when the last events come sooner. */
  seconds?: number;
  /** Largest batch any plan may use (sizes the per-server batch buffers). */
  maxBatch?: number;
}

// Event kinds.
const DONE = 0;
const TIMEOUT = 1;
const READY = 2;
const RETIRE = 3;
// Server states.
const PENDING = 0;
const IDLE = 1;
const BUSY = 2;
const GONE = 3;

/**
 * A discrete-event simulator of a pipeline: requests arrive at stage 1, and each stage is a FIFO
 * batching queue in front of its replicas (servers). A free server takes a full batch, or a partial
 * one once the head has waited the batch timeout; before a request is batched, it is dropped if it
 * has waited past the drop limit since it arrived (IPA's queues did the same). A batch's service
 * time comes from the option's profile (serviceTime.ts); done, its requests move to the next stage
 * or complete.
 *
 * Reconfiguration (`reconfigure`) follows what a Deployment rollout does: more replicas of the
 * same option start serving after the delay; fewer take effect at once (a removed server finishes
 * its batch, none new); another option (variant, shape or batch) starts all new servers, and the
 * old ones keep serving until the new ones are ready, then finish their batch and go. A server
 * costs from the moment it is asked for until it is gone.
 *
 * For speed, requests and servers live in typed arrays indexed by id and events in a typed-array
 * heap: no object or closure per request or per event. Arrivals are not events: they are read in
 * order from the sorted arrival times and merged with the heap.
 */
export class PipelineSimulator {
  private readonly arrivals: Float64Array;
  private readonly requestCount: number;
  private readonly stageCount: number;
  private readonly slaMs: number;
  private readonly dropLimitMs: number;
  private readonly timeoutMs: Float64Array;
  private readonly delayMs: number;
  private readonly pasMethod: PasMethod;
  private readonly maxBatch: number;
  private readonly minSeconds: number;
  private readonly random: RandomVariates;
  private readonly events = new EventQueue();
  private readonly stats: SecondStats;

  // Per request.
  private readonly entryMs: Float64Array;
  private readonly pasOf: Float64Array;
  /** End-to-end latency of each completed request; NaN while in flight and for drops. */
  readonly latencyMs: Float64Array;
  private nextRequest = 0;

  // Per stage: a ring-buffer FIFO of request ids, a stack of idle servers, the pending timeout.
  private readonly queues: Int32Array[] = [];
  private readonly queueHead: Int32Array;
  private readonly queueLength: Int32Array;
  private readonly idle: Int32Array[] = [];
  private readonly idleTop: Int32Array;
  private readonly timeoutAt: Float64Array;
  private readonly targetPlan: Int32Array;
  /** The servers of each stage's current plan that are not retiring. */
  private readonly targetServers: number[][] = [];

  // Per server.
  private serverCount = 0;
  private serverStage = new Int32Array(64);
  private serverPlan = new Int32Array(64);
  private serverState = new Uint8Array(64);
  private serverRetireAt = new Float64Array(64);
  private serverBatch = new Int32Array(64);
  private members: Int32Array;

  // Per compiled plan.
  private readonly planKeys = new Map<string, number>();
  private readonly planBatch: number[] = [];
  private readonly planAccuracy: number[] = [];
  private readonly planCost: number[] = [];
  private readonly planService: ServiceTable[] = [];
  /** NaN: the stage's timeout. */
  private readonly planTimeout: number[] = [];

  private now = 0;
  private lastEventMs = 0;
  private second = 0;
  private costRate = 0;
  private costSinceMs = 0;
  private readyServers = 0;
  private arrivedCount = 0;
  private completedCount = 0;
  private droppedCount = 0;

  constructor(options: SimulatorOptions) {
    const S = options.stages;
    if (!(S >= 1)) throw new Error(`a pipeline needs at least one stage, got ${S}`);
    this.arrivals = options.arrivalsMs;
    this.requestCount = options.arrivalsMs.length;
    for (let i = 1; i < this.requestCount; i++) {
      if ((this.arrivals[i] as number) < (this.arrivals[i - 1] as number)) throw new Error(`arrivalsMs must be ascending (index ${i})`);
    }
    this.stageCount = S;
    this.slaMs = options.slaMs;
    this.dropLimitMs = options.dropLimitMs;
    const timeouts = typeof options.batchTimeoutMs === 'number' ? Array(S).fill(options.batchTimeoutMs) : options.batchTimeoutMs;
    if (timeouts.length !== S) throw new Error(`batchTimeoutMs needs ${S} values, got ${timeouts.length}`);
    this.timeoutMs = Float64Array.from(timeouts);
    this.delayMs = options.reconfigurationDelayMs;
    this.pasMethod = options.pas;
    this.maxBatch = options.maxBatch ?? 64;
    this.minSeconds = options.seconds ?? 0;
    this.random = new RandomVariates(options.seed);
    this.stats = new SecondStats(Math.max(this.minSeconds, Math.ceil((this.arrivals[this.requestCount - 1] ?? 0) / 1000)) + 8);
    this.entryMs = new Float64Array(this.requestCount);
    this.pasOf = new Float64Array(this.requestCount);
    this.latencyMs = new Float64Array(this.requestCount).fill(Number.NaN);
    this.queueHead = new Int32Array(S);
    this.queueLength = new Int32Array(S);
    this.idleTop = new Int32Array(S);
    this.timeoutAt = new Float64Array(S).fill(-1);
    this.targetPlan = new Int32Array(S).fill(-1);
    for (let s = 0; s < S; s++) {
      this.queues.push(new Int32Array(1024));
      this.idle.push(new Int32Array(16));
      this.targetServers.push([]);
    }
    this.members = new Int32Array(64 * this.maxBatch);
  }

  get arrived(): number {
    return this.arrivedCount;
  }
  get completed(): number {
    return this.completedCount;
  }
  get dropped(): number {
    return this.droppedCount;
  }
  get inFlight(): number {
    return this.arrivedCount - this.completedCount - this.droppedCount;
  }
  /**
   * Requests found in the system by walking it: queued at a stage or in a server's batch. It must
   * equal `inFlight` (arrived − completed − dropped) at all times; tests check it to catch a lost request.
   */
  requestsInSystem(): number {
    let n = 0;
    for (let s = 0; s < this.stageCount; s++) n += this.queueLength[s] as number;
    for (let id = 0; id < this.serverCount; id++) if (this.serverState[id] === BUSY) n += this.serverBatch[id] as number;
    return n;
  }

  /**
   * Applies a config at `atMs` (≥ the time reached): one plan per stage. The first config runs
   * from the start, ready at once: it is the deployment the run begins with.
   */
  reconfigure(plans: readonly StagePlan[], atMs: number): void {
    if (plans.length !== this.stageCount) throw new Error(`expected ${this.stageCount} stage plans, got ${plans.length}`);
    if (atMs < this.now) throw new Error(`cannot reconfigure at ${atMs} ms: the simulation is at ${this.now} ms`);
    this.openSecond(atMs);
    this.now = atMs;
    const readyAt = atMs + this.delayMs;
    for (let s = 0; s < this.stageCount; s++) {
      const stagePlan = plans[s] as StagePlan;
      if (!(Number.isInteger(stagePlan.replicas) && stagePlan.replicas >= 1)) {
        throw new Error(`stage ${s}: replicas must be a whole number ≥ 1, got ${stagePlan.replicas}`);
      }
      const plan = this.compile(stagePlan);
      const servers = this.targetServers[s] as number[];
      const current = this.targetPlan[s] as number;
      if (current < 0) {
        for (let i = 0; i < stagePlan.replicas; i++) servers.push(this.addServer(s, plan, atMs));
      } else if (current === plan) {
        for (let i = servers.length; i < stagePlan.replicas; i++) servers.push(this.addServer(s, plan, readyAt));
        if (servers.length > stagePlan.replicas) this.scaleDown(servers, servers.length - stagePlan.replicas, atMs);
      } else {
        for (const id of servers) this.retire(id, readyAt);
        servers.length = 0;
        for (let i = 0; i < stagePlan.replicas; i++) servers.push(this.addServer(s, plan, readyAt));
      }
      this.targetPlan[s] = plan;
    }
    for (let s = 0; s < this.stageCount; s++) this.dispatch(s, atMs);
  }

  /** Runs every event before `untilMs` and closes the seconds that end by then. */
  advanceTo(untilMs: number): void {
    const arrivals = this.arrivals;
    const events = this.events;
    for (;;) {
      const nextArrival = this.nextRequest < this.requestCount ? (arrivals[this.nextRequest] as number) : Number.POSITIVE_INFINITY;
      const nextEvent = events.nextTime;
      const t = Math.min(nextEvent, nextArrival);
      if (t >= untilMs || t === Number.POSITIVE_INFINITY) break;
      if (t >= (this.second + 1) * 1000) this.openSecond(t);
      this.now = t;
      this.lastEventMs = t;
      if (nextEvent <= nextArrival) {
        events.pop();
        this.handle(events.kind, events.id, t);
      } else {
        this.arrive(this.nextRequest++, t);
      }
    }
    if (untilMs !== Number.POSITIVE_INFINITY) {
      while ((this.second + 1) * 1000 <= untilMs) this.closeSecond();
      if (untilMs > this.now) this.now = untilMs;
    }
  }

  /** Runs until every request has completed or been dropped, and closes the seconds up to the last event's. */
  drain(): void {
    this.advanceTo(Number.POSITIVE_INFINITY);
    if (this.inFlight !== 0) throw new Error(`simulation stalled with ${this.inFlight} requests in flight`);
    const end = Math.max(this.minSeconds, Math.floor(this.lastEventMs / 1000) + 1);
    while (this.second < end) this.closeSecond();
  }

  /** Per-second figures of every closed second. */
  series(): SecondSeries {
    return this.stats.series(this.second);
  }

  // -------------------------------------------------------------------------------------------
  // Events

  private handle(kind: number, id: number, t: number): void {
    if (kind === DONE) this.batchDone(id, t);
    else if (kind === TIMEOUT) {
      if (this.timeoutAt[id] !== t) return;
      this.timeoutAt[id] = -1;
      this.dispatch(id, t);
    } else if (kind === READY) {
      if (this.serverState[id] !== PENDING) return;
      if ((this.serverRetireAt[id] as number) <= t) {
        this.removeServer(id, t);
        return;
      }
      this.serverState[id] = IDLE;
      this.readyServers++;
      const s = this.serverStage[id] as number;
      this.pushIdle(s, id);
      this.dispatch(s, t);
    } else if (kind === RETIRE) {
      const state = this.serverState[id];
      if ((state === PENDING || state === IDLE) && (this.serverRetireAt[id] as number) <= t) this.removeServer(id, t);
    }
  }

  private arrive(r: number, t: number): void {
    this.arrivedCount++;
    this.stats.arrive(this.second);
    this.pasOf[r] = this.pasMethod === 'multiply' ? 1 : 0;
    this.enqueue(0, r, t);
    this.dispatch(0, t);
  }

  private batchDone(server: number, t: number): void {
    const s = this.serverStage[server] as number;
    const plan = this.serverPlan[server] as number;
    const accuracy = this.planAccuracy[plan] as number;
    const k = this.serverBatch[server] as number;
    const base = server * this.maxBatch;
    const last = s === this.stageCount - 1;
    const multiply = this.pasMethod === 'multiply';
    for (let i = 0; i < k; i++) {
      const r = this.members[base + i] as number;
      this.pasOf[r] = multiply ? (this.pasOf[r] as number) * accuracy : (this.pasOf[r] as number) + accuracy;
      if (last) this.complete(r, t);
      else this.enqueue(s + 1, r, t);
    }
    this.serverBatch[server] = 0;
    if ((this.serverRetireAt[server] as number) <= t) this.removeServer(server, t);
    else {
      this.serverState[server] = IDLE;
      this.pushIdle(s, server);
    }
    if (!last) this.dispatch(s + 1, t);
    this.dispatch(s, t);
  }

  private complete(r: number, t: number): void {
    const latency = t - (this.arrivals[r] as number);
    this.latencyMs[r] = latency;
    this.completedCount++;
    const pas = this.pasMethod === 'average' ? (this.pasOf[r] as number) / this.stageCount : (this.pasOf[r] as number);
    this.stats.complete(this.second, latency, pas, latency > this.slaMs);
  }

  private drop(): void {
    this.droppedCount++;
    this.stats.drop(this.second);
  }

  // -------------------------------------------------------------------------------------------
  // Queues and batching

  private enqueue(s: number, r: number, t: number): void {
    this.entryMs[r] = t;
    let queue = this.queues[s] as Int32Array;
    const length = this.queueLength[s] as number;
    if (length === queue.length) queue = this.growQueue(s);
    queue[((this.queueHead[s] as number) + length) & (queue.length - 1)] = r;
    this.queueLength[s] = length + 1;
  }

  private dequeue(s: number): number {
    const queue = this.queues[s] as Int32Array;
    const head = this.queueHead[s] as number;
    this.queueHead[s] = (head + 1) & (queue.length - 1);
    this.queueLength[s] = (this.queueLength[s] as number) - 1;
    return queue[head] as number;
  }

  /** Sends batches to free servers while the queue has a full batch or a head past the timeout. */
  private dispatch(s: number, t: number): void {
    while ((this.queueLength[s] as number) > 0) {
      const server = this.popIdle(s);
      if (server < 0) return;
      const plan = this.serverPlan[server] as number;
      const batch = this.planBatch[plan] as number;
      const queue = this.queues[s] as Int32Array;
      const head = queue[this.queueHead[s] as number] as number;
      const own = this.planTimeout[plan] as number;
      const sendAt = (this.entryMs[head] as number) + (Number.isNaN(own) ? (this.timeoutMs[s] as number) : own);
      if ((this.queueLength[s] as number) < batch && t < sendAt) {
        this.pushIdle(s, server);
        if (this.timeoutAt[s] !== sendAt) {
          this.timeoutAt[s] = sendAt;
          this.events.push(sendAt, TIMEOUT, s);
        }
        return;
      }
      const base = server * this.maxBatch;
      let k = 0;
      while (k < batch && (this.queueLength[s] as number) > 0) {
        const r = this.dequeue(s);
        if (t >= (this.arrivals[r] as number) + this.dropLimitMs) this.drop();
        else this.members[base + k++] = r;
      }
      if (k === 0) {
        this.pushIdle(s, server);
        continue;
      }
      this.serverState[server] = BUSY;
      this.serverBatch[server] = k;
      this.events.push(t + (this.planService[this.serverPlan[server] as number] as ServiceTable).sample(k, this.random), DONE, server);
    }
  }

  private pushIdle(s: number, server: number): void {
    let stack = this.idle[s] as Int32Array;
    const top = this.idleTop[s] as number;
    if (top === stack.length) {
      stack = grown(stack, stack.length * 2);
      this.idle[s] = stack;
    }
    stack[top] = server;
    this.idleTop[s] = top + 1;
  }

  /** An idle server of the stage, or −1. Servers removed while idle are skipped here. */
  private popIdle(s: number): number {
    const stack = this.idle[s] as Int32Array;
    let top = this.idleTop[s] as number;
    while (top > 0) {
      const server = stack[--top] as number;
      if (this.serverState[server] === IDLE) {
        this.idleTop[s] = top;
        return server;
      }
    }
    this.idleTop[s] = 0;
    return -1;
  }

  private growQueue(s: number): Int32Array {
    const queue = this.queues[s] as Int32Array;
    const length = this.queueLength[s] as number;
    const head = this.queueHead[s] as number;
    // Unwound from the ring, so the copy starts at its head.
    const next = new Int32Array(queue.length * 2);
    for (let i = 0; i < length; i++) next[i] = queue[(head + i) & (queue.length - 1)] as number;
    this.queues[s] = next;
    this.queueHead[s] = 0;
    return next;
  }

  // -------------------------------------------------------------------------------------------
  // Servers and reconfiguration

  private compile(plan: StagePlan): number {
    const known = this.planKeys.get(plan.key);
    if (known !== undefined) return known;
    if (!(Number.isInteger(plan.batch) && plan.batch >= 1 && plan.batch <= this.maxBatch)) {
      throw new Error(`plan ${plan.key}: batch must be a whole number in 1…${this.maxBatch}, got ${plan.batch}`);
    }
    if (plan.batchTimeoutMs !== undefined && !(plan.batchTimeoutMs >= 0)) {
      throw new Error(`plan ${plan.key}: batchTimeoutMs must be a number ≥ 0, got ${plan.batchTimeoutMs}`);
    }
    if (plan.service.length < plan.batch) {
      throw new Error(`plan ${plan.key}: needs service times for batches 1…${plan.batch}, got ${plan.service.length}`);
    }
    const index = this.planBatch.length;
    this.planKeys.set(plan.key, index);
    this.planBatch.push(plan.batch);
    this.planAccuracy.push(plan.accuracy);
    this.planCost.push(plan.costPerReplica);
    this.planService.push(new ServiceTable(plan.service.slice(0, plan.batch)));
    this.planTimeout.push(plan.batchTimeoutMs ?? Number.NaN);
    return index;
  }

  private addServer(s: number, plan: number, readyAt: number): number {
    if (this.serverCount === this.serverStage.length) this.growServers();
    const id = this.serverCount++;
    this.serverStage[id] = s;
    this.serverPlan[id] = plan;
    this.serverRetireAt[id] = Number.POSITIVE_INFINITY;
    this.serverBatch[id] = 0;
    this.accrueCost(this.now);
    this.costRate += this.planCost[plan] as number;
    if (readyAt <= this.now) {
      this.serverState[id] = IDLE;
      this.readyServers++;
      this.pushIdle(s, id);
    } else {
      this.serverState[id] = PENDING;
      this.events.push(readyAt, READY, id);
    }
    return id;
  }

  /** Takes `count` servers out of the plan at once: not-yet-ready ones first, then idle, then busy (those drain). */
  private scaleDown(servers: number[], count: number, t: number): void {
    const order = [PENDING, IDLE, BUSY];
    const victims = [...servers]
      .map((id, i) => ({ id, i }))
      .sort((a, b) => order.indexOf(this.serverState[a.id] as number) - order.indexOf(this.serverState[b.id] as number) || b.i - a.i)
      .slice(0, count)
      .map((v) => v.id);
    for (const id of victims) {
      this.retire(id, t);
      servers.splice(servers.indexOf(id), 1);
    }
  }

  private retire(id: number, at: number): void {
    if (at >= (this.serverRetireAt[id] as number)) return;
    this.serverRetireAt[id] = at;
    const state = this.serverState[id];
    if (at <= this.now) {
      if (state === PENDING || state === IDLE) this.removeServer(id, this.now);
    } else if (state !== GONE) {
      this.events.push(at, RETIRE, id);
    }
  }

  private removeServer(id: number, t: number): void {
    const state = this.serverState[id];
    if (state === GONE) return;
    this.accrueCost(t);
    this.costRate -= this.planCost[this.serverPlan[id] as number] as number;
    if (state === IDLE || state === BUSY) this.readyServers--;
    this.serverState[id] = GONE;
  }

  private growServers(): void {
    const capacity = this.serverStage.length * 2;
    this.serverStage = grown(this.serverStage, capacity);
    this.serverPlan = grown(this.serverPlan, capacity);
    this.serverState = grown(this.serverState, capacity);
    this.serverRetireAt = grown(this.serverRetireAt, capacity);
    this.serverBatch = grown(this.serverBatch, capacity);
    this.members = grown(this.members, capacity * this.maxBatch);
  }

  // -------------------------------------------------------------------------------------------
  // Seconds and cost

  /** Closes every second before the one holding `t`. */
  private openSecond(t: number): void {
    const s = Math.floor(t / 1000);
    while (this.second < s) this.closeSecond();
  }

  private closeSecond(): void {
    const end = (this.second + 1) * 1000;
    this.accrueCost(end);
    this.stats.close(this.second, this.inFlight, this.readyServers);
    this.second++;
    this.stats.reserve(this.second);
  }

  /** Adds the cost since the last change to the open second (changes never span a second: closeSecond accrues too). */
  private accrueCost(t: number): void {
    if (t > this.costSinceMs) {
      this.stats.cost[this.second] = (this.stats.cost[this.second] as number) + (this.costRate * (t - this.costSinceMs)) / 1000;
      this.costSinceMs = t;
    }
  }
}
