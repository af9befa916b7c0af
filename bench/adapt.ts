/**
 * Adaptation-loop benchmark. Run with `npm run bench:adapt`; it prints tables (stdout) and
 * progress (stderr) and never asserts on time.
 *
 * 1. One pipeline on each `--server`: step latency, beside the same five activities
 *    called directly in process (the baseline: what durability costs). Every "step" figure in
 *    this file is one span (see stepClock); the server's event times are printed beside it.
 * 2. History size per 1,000 steps at the default 10 s interval, on the time-skipping test server:
 *    the figure the continue-as-new threshold (maxStepsPerRun) is chosen from.
 * 3. Fleets of 100, 500 and 1,000 concurrent loops (trace source, dry-run actuator, 10 s interval)
 *    on one worker process: decisions/s, p99 step latency, timer lag (early and late in the window,
 *    to see whether it grows), worker CPU and RSS, and the server's CPU beside it, on each `--server`.
 *
 * Usage: node dist/bench/adapt.js [--fleets 100,500,1000] [--measure-seconds 60] [--skip single,history,fleet]
 *        [--server sqlite|memory|cluster[,…]]
 *
 * `--server` names the Temporal servers sections 1 and 3 run on, one after another, each a row of
 * the same table: the dev server on SQLite (what `npm start` runs, the default), in memory (no disk
 * writes: isolates the worker's own cost), or `cluster`, the Temporal server as production runs it
 * (its four services on PostgreSQL, mTLS; see src/tooling/temporalCluster.ts).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { NativeConnection } from '@temporalio/worker';
import { NativeConnection as WorkerConnection } from '@temporalio/worker';
import { apply } from '../src/activities/apply.js';
import { observe } from '../src/activities/observe.js';
import { preparePipeline } from '../src/activities/preparePipeline.js';
import { loadForecaster, recommend } from '../src/activities/recommend.js';
import { record as recordActivity } from '../src/activities/record.js';
import { configureLogger } from '../src/common/log.js';
import { table } from '../src/common/table.js';
import { configOf } from '../src/model/decision.js';
import type { DecisionRecord } from '../src/model/decisionRecord.js';
import { connectClient, connectWorker } from '../src/temporal/connection.js';
import { chainHistories, localActivityResult } from '../src/temporal/decisionHistory.js';
import { installRuntime } from '../src/temporal/runtime.js';
import { TASK_QUEUES } from '../src/temporal/taskQueues.js';
import { createWorkers, runWorkers } from '../src/temporal/worker.js';
import { findTemporalCli, findTemporalTestServer } from '../src/tooling/cliBinary.js';
import { startDevServer } from '../src/tooling/devServer.js';
import { freePort } from '../src/tooling/freePort.js';
import { startTemporalCluster } from '../src/tooling/temporalCluster.js';
import { type AdaptInput, adaptPipeline } from '../src/workflows/adaptPipeline.js';
import { median, percentile } from './percentile.js';

const progress = (line: string) => process.stderr.write(`${line}\n`);

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}
const FLEETS = flag('fleets', '100,500,1000').split(',').map(Number);
const MEASURE_SECONDS = Number(flag('measure-seconds', '60'));
const WARMUP_SECONDS = 30;
const SKIP = new Set(flag('skip', '').split(','));
const SINGLE_STEPS = 60;
const SERVER_KINDS = ['sqlite', 'memory', 'cluster'] as const;
type ServerKind = (typeof SERVER_KINDS)[number];
const SERVERS = flag('server', 'sqlite').split(',') as ServerKind[];
for (const kind of SERVERS) {
  if (!SERVER_KINDS.includes(kind)) throw new Error(`--server: "${kind}" is not one of ${SERVER_KINDS.join(', ')}`);
}
const SERVER_LABEL: Record<ServerKind, string> = {
  sqlite: 'dev server (SQLite)',
  memory: 'dev server (in memory)',
  cluster: 'temporal-server on PostgreSQL, mTLS',
};

const f = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '–');

/** A different day of the Twitter trace per pipeline, damped as IPA did. */
const traceInput = (i: number, intervalSeconds: number): AdaptInput => ({
  pipeline: 'video',
  intervalSeconds,
  observe: { kind: 'trace', start: 120 + ((i * 86_400) % 1_700_000), damp: 8 },
  actuator: { kind: 'dry-run' },
});

/**
 * CPU seconds (user + system) of a process group, from /proc: its live members, and the children
 * its leader has reaped (PostgreSQL's backends come and go with connections).
 */
async function groupCpuSeconds(pgid: number): Promise<number> {
  let ticks = 0;
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // Fields after the command name: state, ppid, pgrp, …, utime (11), stime (12), cutime (13), cstime (14).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) !== pgid) continue;
    ticks += Number(fields[11]) + Number(fields[12]);
    if (Number(pid) === pgid) ticks += Number(fields[13]) + Number(fields[14]);
  }
  return ticks / 100;
}

/** A Temporal server to run on, with connections for a client and this process's workers. */
interface BenchServer {
  label: string;
  namespace: string;
  client: Client;
  connection: NativeConnection;
  /** CPU seconds the server (and its database, for the cluster) has used so far. */
  cpuSeconds(): Promise<number>;
}

async function withServer<T>(kind: ServerKind, body: (server: BenchServer) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), kind === 'cluster' ? 'ipa-cluster-' : 'ipa-bench-'));
  const stops: (() => Promise<void>)[] = [() => rm(dir, { recursive: true, force: true })];
  try {
    if (kind === 'cluster') {
      const cluster = await startTemporalCluster({ dir });
      stops.unshift(() => cluster.stop());
      const clientConnection = await connectClient(cluster.settings);
      stops.unshift(() => clientConnection.close());
      const connection = await connectWorker(cluster.settings);
      stops.unshift(() => connection.close());
      return await body({
        label: SERVER_LABEL[kind],
        namespace: cluster.namespace,
        client: new Client({ connection: clientConnection, namespace: cluster.namespace }),
        connection,
        cpuSeconds: async () => (await groupCpuSeconds(cluster.serverPid())) + (await groupCpuSeconds(cluster.postgresPid())),
      });
    }
    const dev = await startDevServer({
      binary: await findTemporalCli(),
      stateDir: dir,
      headless: true,
      port: await freePort(),
      inMemory: kind === 'memory',
    });
    stops.unshift(() => dev.stop());
    const clientConnection = await Connection.connect({ address: dev.address });
    stops.unshift(() => clientConnection.close());
    const connection = await WorkerConnection.connect({ address: dev.address });
    stops.unshift(() => connection.close());
    return await body({
      label: SERVER_LABEL[kind],
      namespace: 'default',
      client: new Client({ connection: clientConnection }),
      connection,
      cpuSeconds: () => groupCpuSeconds(dev.pid),
    });
  } finally {
    for (const stop of stops) await stop();
  }
}

/**
 * The one span every table's "step" column measures: from the step's start (the decision's `at`,
 * the workflow's clock when the timer's workflow task runs) to the worker calling the record
 * activity with its DecisionRecord. `record` wraps the real activity to take it; `lags` are the
 * gaps between a loop's timer steps beyond its interval.
 */
function stepClock(intervalMs: number) {
  const latencies: { at: number; ms: number }[] = [];
  const lags: { at: number; ms: number }[] = [];
  const previous = new Map<string, number>();
  const record = async (rec: DecisionRecord) => {
    const now = Date.now();
    const at = Date.parse(rec.at);
    latencies.push({ at: now, ms: now - at });
    const loop = rec.pipeline + rec.id.split('#')[0];
    const before = previous.get(loop);
    if (before !== undefined && rec.trigger === 'timer') lags.push({ at: now, ms: at - before - intervalMs });
    previous.set(loop, at);
    return recordActivity(rec);
  };
  return { latencies, lags, record };
}

/** One pipeline on one server: the step clock's spans, and the same steps by the server's event times. */
async function singleOn(kind: ServerKind): Promise<{ label: string; stepsMs: number[]; serverStepsMs: number[] }> {
  progress(`single pipeline: ${SINGLE_STEPS} steps at a 1 s interval on the ${SERVER_LABEL[kind]}`);
  const clock = stepClock(1000);
  const serverStepsMs = await withServer(kind, async ({ client, connection, namespace }) => {
    const workers = await createWorkers(connection, namespace, ['adapt'], { activities: { record: clock.record as never } });
    let stop = () => {};
    const running = runWorkers(workers, new Promise<void>((resolve) => (stop = resolve)));
    const handle = await client.workflow.start(adaptPipeline, {
      taskQueue: TASK_QUEUES.adapt,
      workflowId: 'bench-single',
      args: [{ ...traceInput(0, 1), maxStepsPerRun: 2000 }],
    });
    for (;;) {
      const events = (await handle.fetchHistory()).events ?? [];
      const records = events.filter((e) => localActivityResult(e, 'record') !== undefined).length;
      if (records >= SINGLE_STEPS + 1) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    await handle.terminate('bench done');
    stop();
    await running;
    const events = (await handle.fetchHistory()).events ?? [];
    const time = (e: proto.temporal.api.history.v1.IHistoryEvent) =>
      Number(e.eventTime?.seconds ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;
    const out: number[] = [];
    let observedAt: number | undefined;
    for (const e of events) {
      // The timer's firing starts the step; observe runs in the workflow task it schedules.
      if (e.timerFiredEventAttributes) observedAt = time(e);
      // The record's marker is written when the workflow task that ran it completes.
      if (observedAt !== undefined && localActivityResult(e, 'record') !== undefined) out.push(time(e) - observedAt);
    }
    // The first step pays for loading TensorFlow.js and HiGHS (on both clocks).
    return out.slice(1);
  });
  return { label: SERVER_LABEL[kind], stepsMs: clock.latencies.slice(1).map((x) => x.ms), serverStepsMs };
}

/** 1. One pipeline: step latency on each server, and the in-process baseline. */
async function singlePipeline(): Promise<void> {
  const runs = [];
  for (const kind of SERVERS) runs.push(await singleOn(kind));
  progress('baseline: the same activities called in process');
  const prepared = await preparePipeline(traceInput(0, 1));
  await loadForecaster();
  const direct: number[] = [];
  for (let n = 0; n <= SINGLE_STEPS; n++) {
    const t0 = performance.now();
    const observation = await observe({ pipeline: 'video', source: prepared.options.observe, atMs: Date.now(), elapsedMs: n * 1000 });
    const { decision } = await recommend({
      window: observation.loads,
      method: 'auto',
      provision: prepared.options.provision,
      spec: prepared.spec,
      profilesVersion: prepared.profilesVersion,
      settings: prepared.settings,
    });
    const config = configOf(decision);
    await apply({ actuator: { kind: 'dry-run' }, request: { decisionId: `bench#${n}`, pipeline: 'video', config } });
    if (n > 0) direct.push(performance.now() - t0);
    await recordActivity({
      id: `bench#${n}`,
      step: n,
      pipeline: 'video',
      at: new Date().toISOString(),
      trigger: 'timer',
      profilesVersion: prepared.profilesVersion,
      settings: prepared.settings,
      outcome: 'applied',
    });
  }

  console.log(`\n## One pipeline: step latency (step start → record called, as in the fleets), ${SINGLE_STEPS} steps\n`);
  console.log(
    table(
      ['run', 'median ms', 'p99 ms', 'goal median ≤ 100 ms'],
      [
        ...runs.map(({ label, stepsMs }) => [
          `adaptPipeline on the ${label}`,
          f(median(stepsMs)),
          f(percentile(stepsMs, 0.99)),
          median(stepsMs) <= 100 ? 'met' : 'missed',
        ]),
        ['baseline: activities in process', f(median(direct), 2), f(percentile(direct, 0.99), 2), '-'],
        ...runs.map(({ label, stepsMs }) => [
          `ratio (${label} / in process)`,
          f(median(stepsMs) / median(direct)),
          f(percentile(stepsMs, 0.99) / percentile(direct, 0.99)),
          '-',
        ]),
      ],
    ),
  );
  for (const { label, serverStepsMs } of runs) {
    console.log(
      `\nThe same steps by the clock of the ${label}, timer fired → record's marker written (the span includes completing the workflow task): ` +
        `median ${f(median(serverStepsMs))} ms, p99 ${f(percentile(serverStepsMs, 0.99))} ms.`,
    );
  }
}

/** 2. History events and bytes per 1,000 steps at the default interval. */
async function historySize(): Promise<void> {
  const steps = 1000;
  progress(`history: ${steps} steps at the default 10 s interval on the time-skipping test server`);
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: await findTemporalTestServer() } },
  });
  try {
    const workers = await createWorkers(env.nativeConnection, 'default', ['adapt']);
    let stop = () => {};
    const running = runWorkers(workers, new Promise<void>((resolve) => (stop = resolve)));
    const handle = await env.client.workflow.start(adaptPipeline, {
      taskQueue: TASK_QUEUES.adapt,
      workflowId: 'bench-history',
      args: [{ ...traceInput(0, 10), maxStepsPerRun: 2000, searchAttributes: false }],
    });
    await env.sleep(steps * 10_000 - 5_000);
    const runs = await chainHistories(env.client, 'bench-history');
    await handle.terminate('bench done');
    stop();
    await running;
    const isRecord = (e: proto.temporal.api.history.v1.IHistoryEvent) => localActivityResult(e, 'record') !== undefined;
    // Whole runs only: the last one was cut short by the benchmark.
    const whole = runs.slice(0, -1);
    const events = whole.flatMap((r) => r.events);
    const recordCount = events.filter(isRecord).length;
    const bytes = whole.reduce((t, r) => t + proto.temporal.api.history.v1.History.encode({ events: r.events }).finish().length, 0);
    const stepsPerRun = whole.map((r) => r.events.filter(isRecord).length);
    const perStep = events.length / recordCount;
    const bytesPerStep = bytes / recordCount;
    console.log(
      `\n## History size at the default 10 s interval (${recordCount} steps in ${whole.length} whole runs; steps per run: ${[...new Set(stepsPerRun)].join(', ')})\n`,
    );
    console.log(
      table(
        ['per 1,000 steps', 'events', 'MB', 'steps to 10,240 events (warning)', 'steps to 51,200 events (limit)', 'steps to 50 MB'],
        [
          [
            'adaptPipeline',
            f(perStep * 1000, 0),
            f((bytesPerStep * 1000) / 1e6, 2),
            f(10_240 / perStep, 0),
            f(51_200 / perStep, 0),
            f(50e6 / bytesPerStep, 0),
          ],
        ],
      ),
    );
    console.log(
      `\nmaxStepsPerRun 250 would mean about ${f(250 * perStep, 0)} events and ${f((250 * bytesPerStep) / 1e6, 2)} MB per run; ` +
        `runs ended after ${median(stepsPerRun)} steps (median), where the server suggested continue-as-new.`,
    );
  } finally {
    await env.teardown();
  }
}

/** 3. N loops on one worker process. */
async function fleet(kind: ServerKind, n: number): Promise<string[]> {
  progress(`fleet of ${n} on the ${SERVER_LABEL[kind]}: starting`);
  return withServer(kind, async (server) => {
    const { client, connection, namespace } = server;
    const clock = stepClock(10_000);
    const { latencies, lags } = clock;
    let decisionsSeen = 0;
    const measured = (rec: DecisionRecord) => {
      decisionsSeen += 1;
      return clock.record(rec);
    };
    const workers = await createWorkers(connection, namespace, ['adapt'], {
      activities: { record: measured as never },
    });
    let stop = () => {};
    const running = runWorkers(workers, new Promise<void>((resolve) => (stop = resolve)));
    const startedAt = Date.now();
    // Pipelines start at different times in practice: spread the starts over one interval so
    // the loops' phases are uniform instead of all firing in the same second.
    const batches = Math.ceil(n / 50);
    for (let i = 0; i < n; i += 50) {
      const due = startedAt + ((i / 50) * 10_000) / batches;
      await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
      await Promise.all(
        Array.from({ length: Math.min(50, n - i) }, (_, k) =>
          client.workflow.start(adaptPipeline, {
            taskQueue: TASK_QUEUES.adapt,
            workflowId: `bench-fleet-${i + k}`,
            args: [traceInput(i + k, 10)],
          }),
        ),
      );
    }
    progress(`fleet of ${n}: started in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; warming up ${WARMUP_SECONDS} s`);
    await new Promise((r) => setTimeout(r, WARMUP_SECONDS * 1000));
    const from = Date.now();
    const cpu0 = process.cpuUsage();
    const serverCpu0 = await server.cpuSeconds();
    const seen0 = decisionsSeen;
    let rss = 0;
    const sampler = setInterval(() => (rss = Math.max(rss, process.memoryUsage().rss)), 1000);
    for (let s = 10; s <= MEASURE_SECONDS; s += 10) {
      await new Promise((r) => setTimeout(r, 10_000));
      progress(`fleet of ${n}: ${s}/${MEASURE_SECONDS} s measured, ${decisionsSeen - seen0} decisions`);
    }
    clearInterval(sampler);
    const to = Date.now();
    const cpu = process.cpuUsage(cpu0);
    const serverCpu = (await server.cpuSeconds()) - serverCpu0;
    const decisions = decisionsSeen - seen0;
    stop();
    await running;
    const inWindow = (xs: { at: number; ms: number }[], a: number, b: number) => xs.filter((x) => x.at >= a && x.at < b).map((x) => x.ms);
    const mid = (from + to) / 2;
    const seconds = (to - from) / 1000;
    const step = inWindow(latencies, from, to);
    const p99 = percentile(step, 0.99);
    const lagEarly = percentile(inWindow(lags, from, mid), 0.99);
    const lagLate = percentile(inWindow(lags, mid, to), 0.99);
    const growing = lagLate > lagEarly * 1.5 + 200;
    return [
      server.label,
      String(n),
      f(decisions / seconds),
      f(n / 10),
      f(median(step), 0),
      f(p99, 0),
      `${f(lagEarly, 0)} → ${f(lagLate, 0)}`,
      f((cpu.user + cpu.system) / 1e6 / seconds, 2),
      f(serverCpu / seconds, 2),
      f(rss / 2 ** 20, 0),
      p99 < 1000 && !growing ? 'met' : 'missed',
    ];
  });
}

async function main(): Promise<void> {
  configureLogger({ level: 'warn' });
  installRuntime();
  console.log(`# adaptation-loop benchmark — node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} (${os.cpus().length} cores)`);
  if (!SKIP.has('single')) await singlePipeline();
  if (!SKIP.has('history')) await historySize();
  if (!SKIP.has('fleet')) {
    const rows: string[][] = [];
    for (const kind of SERVERS) for (const n of FLEETS) rows.push(await fleet(kind, n));
    console.log(`\n## Fleets on one worker process (10 s interval, ${MEASURE_SECONDS} s measured after ${WARMUP_SECONDS} s warm-up)\n`);
    console.log("Server CPU is the Temporal server process group, and PostgreSQL's beside it for the cluster.\n");
    console.log(
      table(
        [
          'server',
          'pipelines',
          'decisions/s',
          'due/s',
          'step median ms',
          'step p99 ms',
          'timer lag p99 ms (early → late)',
          'worker CPU cores',
          'server CPU cores',
          'worker RSS MiB',
          'goal p99 < 1 s, no growing lag',
        ],
        rows,
      ),
    );
  }
}

await main();
