/**
 * Simulator benchmark: simulated requests per second of wall time, against a naive simulator of
 * the same model (an object and a closure per request and per event, JavaScript arrays as
 * queues), and the wall time of all four IPA patterns × five policies on the video pipeline.
 * Run with `npm run bench:simulator`. It prints tables (stdout) and progress (stderr); it never
 * asserts on time.
 *
 * Goals: ≥ 1 M simulated requests/s; the 4 × 5 evaluation in < 30 s; its figures drawn in < 5 s.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { PolicyName } from '../src/adapt/policy.js';
import { formatNumber, table } from '../src/common/table.js';
import { Forecaster } from '../src/forecast/forecaster.js';
import { loadTrace } from '../src/forecast/trace.js';
import { resolvePipelineSpec, resolveProfileSet } from '../src/io/load.js';
import { configOf } from '../src/model/decision.js';
import type { PipelineSpec } from '../src/model/pipelineSpec.js';
import type { ProfileSet } from '../src/model/profileSet.js';
import { decide } from '../src/optimizer/decide.js';
import { loadHighsSolver } from '../src/optimizer/highsSolver.js';
import { problemFromSpec } from '../src/optimizer/problemFromSpec.js';
import { loadGeneratorArrivals, poissonArrivals } from '../src/simulator/arrivals.js';
import { PATTERN_NAMES } from '../src/simulator/loadPatterns.js';
import { PipelineSimulator, type StagePlan } from '../src/simulator/pipelineSimulator.js';
import { defaultDropLimitMs, defaultEvaluationSettings, type EvaluationSettings } from '../src/simulator/policyEvaluation.js';
import { RandomVariates } from '../src/simulator/randomVariates.js';
import { ServiceTable } from '../src/simulator/serviceTime.js';
import { simulatePolicies } from '../src/simulator/simulation.js';
import { simulationFigures } from '../src/simulator/simulationFigures.js';
import { stagePlansOf } from '../src/simulator/stagePlans.js';
import { median } from './percentile.js';

/** Timed runs per measurement (the median is printed), after one untimed warm-up run. */
const REPS = 3;
/** Hours of the undamped Twitter trace (from day 15, where IPA's patterns are) for the throughput runs. */
const TRACE_HOURS = 6;
const TRACE_START = 1_296_000;
const POLICIES: PolicyName[] = ['ipa', 'fa2-low', 'fa2-high', 'rim', 'oracle'];

const progress = (line: string) => process.stderr.write(`${line}\n`);

interface Workload {
  name: string;
  arrivalsMs: Float64Array;
  plans: StagePlan[];
  slaMs: number;
  dropLimitMs: number;
  batchTimeoutMs: number;
  pas: PipelineSpec['pas'];
}

interface Outcome {
  completed: number;
  dropped: number;
  meanLatencyMs: number;
}

function fast(w: Workload): Outcome {
  const simulator = new PipelineSimulator({
    arrivalsMs: w.arrivalsMs,
    stages: w.plans.length,
    slaMs: w.slaMs,
    dropLimitMs: w.dropLimitMs,
    batchTimeoutMs: w.batchTimeoutMs,
    reconfigurationDelayMs: 0,
    pas: w.pas,
    seed: 2,
  });
  simulator.reconfigure(w.plans, 0);
  simulator.drain();
  let sum = 0;
  for (const latency of simulator.latencyMs) if (!Number.isNaN(latency)) sum += latency;
  return { completed: simulator.completed, dropped: simulator.dropped, meanLatencyMs: sum / simulator.completed };
}

// ---------------------------------------------------------------------------------------------
// The naive simulator: the same queues, batching, timeout, drops and service times, written the
// obvious way. It is the baseline the typed-array design is measured against.

interface NaiveRequest {
  arrivalMs: number;
  latencyMs: number;
  dropped: boolean;
}
interface NaiveEvent {
  time: number;
  run: () => void;
}

class NaiveHeap {
  private items: NaiveEvent[] = [];
  get size() {
    return this.items.length;
  }
  push(event: NaiveEvent): void {
    const items = this.items;
    items.push(event);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((items[parent] as NaiveEvent).time <= event.time) break;
      items[i] = items[parent] as NaiveEvent;
      i = parent;
    }
    items[i] = event;
  }
  pop(): NaiveEvent {
    const items = this.items;
    const top = items[0] as NaiveEvent;
    const last = items.pop() as NaiveEvent;
    if (items.length > 0) {
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= items.length) break;
        if (child + 1 < items.length && (items[child + 1] as NaiveEvent).time < (items[child] as NaiveEvent).time) child += 1;
        if ((items[child] as NaiveEvent).time >= last.time) break;
        items[i] = items[child] as NaiveEvent;
        i = child;
      }
      items[i] = last;
    }
    return top;
  }
}

function naive(w: Workload): Outcome {
  const random = new RandomVariates(2);
  const heap = new NaiveHeap();
  const requests: NaiveRequest[] = Array.from(w.arrivalsMs, (arrivalMs) => ({ arrivalMs, latencyMs: Number.NaN, dropped: false }));
  const stages = w.plans.map((plan) => ({
    plan,
    table: new ServiceTable(plan.service.slice(0, plan.batch)),
    queue: [] as { request: NaiveRequest; entryMs: number }[],
    idle: Array.from({ length: plan.replicas }, () => ({ busy: false })),
    timeoutAt: -1,
  }));
  const dispatch = (s: number, now: number): void => {
    const stage = stages[s] as (typeof stages)[number];
    while (stage.queue.length > 0 && stage.idle.length > 0) {
      const head = stage.queue[0] as (typeof stage.queue)[number];
      // A plan's own timeout (the optimizer's choice) before the workload's, as the simulator does.
      const sendAt = head.entryMs + (stage.plan.batchTimeoutMs ?? w.batchTimeoutMs);
      if (stage.queue.length < stage.plan.batch && now < sendAt) {
        if (stage.timeoutAt !== sendAt) {
          stage.timeoutAt = sendAt;
          heap.push({ time: sendAt, run: () => dispatch(s, sendAt) });
        }
        return;
      }
      const batch: NaiveRequest[] = [];
      while (batch.length < stage.plan.batch && stage.queue.length > 0) {
        const { request } = stage.queue.shift() as (typeof stage.queue)[number];
        if (now >= request.arrivalMs + w.dropLimitMs) request.dropped = true;
        else batch.push(request);
      }
      if (batch.length === 0) continue;
      const server = stage.idle.pop() as { busy: boolean };
      server.busy = true;
      const doneAt = now + stage.table.sample(batch.length, random);
      heap.push({
        time: doneAt,
        run: () => {
          server.busy = false;
          stage.idle.push(server);
          for (const request of batch) {
            if (s === stages.length - 1) request.latencyMs = doneAt - request.arrivalMs;
            else (stages[s + 1] as (typeof stages)[number]).queue.push({ request, entryMs: doneAt });
          }
          if (s < stages.length - 1) dispatch(s + 1, doneAt);
          dispatch(s, doneAt);
        },
      });
    }
  };
  for (const request of requests) {
    heap.push({
      time: request.arrivalMs,
      run: () => {
        (stages[0] as (typeof stages)[number]).queue.push({ request, entryMs: request.arrivalMs });
        dispatch(0, request.arrivalMs);
      },
    });
  }
  while (heap.size > 0) heap.pop().run();
  let completed = 0;
  let dropped = 0;
  let sum = 0;
  for (const r of requests) {
    if (r.dropped) dropped += 1;
    else {
      completed += 1;
      sum += r.latencyMs;
    }
  }
  return { completed, dropped, meanLatencyMs: sum / completed };
}

// ---------------------------------------------------------------------------------------------

const sameOutcome = (a: Outcome, b: Outcome) =>
  a.completed === b.completed && a.dropped === b.dropped && Math.abs(a.meanLatencyMs - b.meanLatencyMs) <= 1e-9 * a.meanLatencyMs;

/** Median wall time (ms) of REPS runs after a warm-up, and the last run's outcome. */
function timed(run: (w: Workload) => Outcome, w: Workload): { ms: number; outcome: Outcome } {
  let outcome = run(w);
  const times: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const started = performance.now();
    outcome = run(w);
    times.push(performance.now() - started);
  }
  return { ms: median(times), outcome };
}

async function videoWorkload(spec: PipelineSpec, profiles: ProfileSet): Promise<Workload> {
  const trace = await loadTrace();
  const loads = trace.subarray(TRACE_START, TRACE_START + TRACE_HOURS * 3600);
  const peak = loads.reduce((m, v) => Math.max(m, v), 0);
  const decision = decide(problemFromSpec(spec, profiles, peak), { explain: false });
  progress(
    `video pipeline at the trace's peak ${peak} rps: ${configOf(decision)
      .stages.map((s) => `${s.variant}/${s.shape} b${s.batch} ×${s.replicas}`)
      .join(' | ')}`,
  );
  return {
    name: `video, ${TRACE_HOURS} h of the undamped trace (IPA's arrivals)`,
    arrivalsMs: loadGeneratorArrivals(loads, 1),
    plans: stagePlansOf(decision.config, profiles, spec.cost),
    slaMs: spec.slaMs,
    dropLimitMs: defaultDropLimitMs(spec.slaMs),
    batchTimeoutMs: spec.limits.maxBatchWaitMs,
    pas: spec.pas,
  };
}

function mm3Workload(): Workload {
  const lambda = 210;
  return {
    name: 'M/M/3 at ρ 0.7, one stage, batch 1',
    arrivalsMs: poissonArrivals(lambda, Math.round(2_000_000 / lambda), 1),
    plans: [{ key: 'm', batch: 1, replicas: 3, accuracy: 1, costPerReplica: 1, service: [{ kind: 'exponential', meanMs: 10 }] }],
    slaMs: Number.POSITIVE_INFINITY,
    dropLimitMs: Number.POSITIVE_INFINITY,
    batchTimeoutMs: 0,
    pas: 'multiply',
  };
}

async function benchThroughput(spec: PipelineSpec, profiles: ProfileSet): Promise<void> {
  const rows: (string | number)[][] = [];
  for (const workload of [await videoWorkload(spec, profiles), mm3Workload()]) {
    const n = workload.arrivalsMs.length;
    progress(`${workload.name}: ${n} requests, fast simulator …`);
    const ours = timed(fast, workload);
    progress(`${workload.name}: naive simulator …`);
    const base = timed(naive, workload);
    rows.push([
      workload.name,
      n,
      formatNumber(ours.ms, 0),
      formatNumber(n / ours.ms / 1000, 2),
      formatNumber(base.ms, 0),
      formatNumber(n / base.ms / 1000, 2),
      `${formatNumber(base.ms / ours.ms, 1)}×`,
      `${formatNumber(ours.outcome.meanLatencyMs, 1)} / ${formatNumber(base.outcome.meanLatencyMs, 1)}`,
      `${formatNumber((100 * ours.outcome.dropped) / n, 2)} / ${formatNumber((100 * base.outcome.dropped) / n, 2)}`,
      sameOutcome(ours.outcome, base.outcome) ? 'yes' : 'NO',
    ]);
  }
  console.log('\n## Simulated requests per second of wall time (goal ≥ 1 M/s)\n');
  console.log(
    table(
      [
        'workload',
        'requests',
        'ms',
        'M requests/s',
        'naive ms',
        'naive M requests/s',
        'speed-up',
        'mean latency ms (ours / naive)',
        'dropped % (ours / naive)',
        'same outcome',
      ],
      rows,
    ),
  );
  console.log(
    `\nmedian of ${REPS} runs after a warm-up; "same outcome": equal completed and dropped counts and mean latency within 1e-9 (both draw service times in the same order)`,
  );
}

async function benchEvaluation(spec: PipelineSpec, profiles: ProfileSet): Promise<void> {
  const setupStarted = performance.now();
  const forecaster = await Forecaster.load();
  const trace = await loadTrace();
  await loadHighsSolver();
  const setupMs = performance.now() - setupStarted;
  const settings: EvaluationSettings = defaultEvaluationSettings(spec);
  progress(`all patterns × ${POLICIES.join(', ')} …`);
  const started = performance.now();
  const results = await simulatePolicies({
    spec,
    profiles,
    forecaster,
    patterns: PATTERN_NAMES,
    policies: POLICIES,
    settings,
    trace,
    onProgress: (done, total) => {
      if (done % 200 === 0 || done === total) progress(`  ${done}/${total} decisions`);
    },
  });
  const totalMs = performance.now() - started;
  const requests = results.reduce((n, r) => n + r.runs.reduce((m, run) => m + run.summary.requests, 0), 0);
  const decisions = results.reduce((n, r) => n + r.runs.reduce((m, run) => m + run.decisions.length, 0), 0);
  console.log(`\n## All four patterns × five policies, video pipeline (goal < 30 s)\n`);
  console.log(
    table(
      ['pattern', 'forecasts ms', ...POLICIES.map((p) => `${p} ms`), 'requests × policies'],
      results.map((r) => [
        r.pattern.name,
        formatNumber(r.forecastMs, 0),
        ...POLICIES.map((p) => formatNumber(r.runMs[p] ?? Number.NaN, 0)),
        r.runs.reduce((m, run) => m + run.summary.requests, 0),
      ]),
    ),
  );
  console.log(
    `\ntotal ${formatNumber(totalMs / 1000, 2)} s for ${formatNumber(decisions)} decisions and ${formatNumber(requests)} simulated requests ` +
      `(loading the LSTM, the trace and HiGHS before it, not counted: ${formatNumber(setupMs / 1000, 2)} s)`,
  );
  await benchFigures(results, spec);
}

/** Drawing the report's figures of that evaluation (Vega-Lite specs through vega and resvg): the median of REPS after a warm-up. */
async function benchFigures(results: Awaited<ReturnType<typeof simulatePolicies>>, spec: PipelineSpec): Promise<void> {
  progress('figures …');
  await simulationFigures(results, spec);
  const times: number[] = [];
  let figures: Awaited<ReturnType<typeof simulationFigures>> = [];
  for (let i = 0; i < REPS; i++) {
    const started = performance.now();
    figures = await simulationFigures(results, spec);
    times.push(performance.now() - started);
  }
  const bytes = figures.reduce((n, f) => n + f.png.length + f.svg.length, 0);
  console.log(`
## The report's figures of that evaluation (goal < 5 s)
`);
  console.log(
    `${figures.length} figures (${figures.map((f) => f.name).join(', ')}) as SVG and PNG, ${formatNumber(bytes / 1e6, 1)} MB: ` +
      `median ${formatNumber(median(times) / 1000, 2)} s of ${REPS} after a warm-up`,
  );
}

async function main(): Promise<void> {
  const began = performance.now();
  console.log(
    `# simulator benchmark — node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.cpus().length} cores), ${new Date().toISOString()}`,
  );
  const profiles = await resolveProfileSet('measured-h200');
  const spec = await resolvePipelineSpec('video', profiles);
  await loadHighsSolver();
  await benchThroughput(spec, profiles);
  await benchEvaluation(spec, profiles);
  console.log(`\n# total ${formatNumber((performance.now() - began) / 1000, 1)} s`);
}

await main();
