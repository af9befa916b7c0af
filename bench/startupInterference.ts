/**
 * What a starting model server costs the replicas serving beside it on this machine. The live
 * testbed serves a steady Poisson load through its gateway (reduce-kpca1200 and classify-mlp on
 * half cores, as ipa ran them at the bursty peak); in each round K more MLServers start at once
 * beside them (quarter-core replicas, as the HPA's scale-up started four), and the requests sent
 * while they start are compared with the rest. Side by side: servers starting at the lowest CPU
 * weight (ipa now) and at the same weight as those serving (the earlier version, the baseline).
 *
 *   node dist/bench/startupInterference.js [--rounds N] [--starting K] [--rps R] [--seconds S] [--shape cpu-500m]
 */
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { table } from '../src/common/table.js';
import { resolvePipelineSpec } from '../src/io/load.js';
import { type ReplayRecord, replayLoad } from '../src/live/loadReplay.js';
import type { Config } from '../src/model/config.js';
import { startModelServer } from '../src/profiling/testbed.js';
import { cpuLimitUnavailable, type StartPriority } from '../src/tooling/cpuLimit.js';
import { startLiveTestbed } from './liveTestbed.js';
import { percentile } from './percentile.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    starting: { type: 'string', default: '2' },
    rps: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '30' },
    shape: { type: 'string', default: 'cpu-500m' },
  },
});
const [rounds, starting, rps, seconds] = [values.rounds, values.starting, values.rps, values.seconds].map(Number) as [
  number,
  number,
  number,
  number,
];
const noLimit = await cpuLimitUnavailable();
if (noLimit) throw new Error(`this benchmark compares CPU weights of cgroups: ${noLimit}`);
const { slaMs } = await resolvePipelineSpec('testbed');
const serving: Config = {
  stages: [
    { stage: 'reduce', variant: 'reduce-kpca1200', shape: values.shape, batch: 1, replicas: 1 },
    { stage: 'classify', variant: 'classify-mlp', shape: values.shape, batch: 1, replicas: 1 },
  ],
};

interface Round {
  /** From the first start to the last server ready, ms. */
  startMs: number;
  during: ReplayRecord[];
  outside: ReplayRecord[];
}

/** One round: the steady load, and K servers started `leadSeconds` into it, stopped once all are ready. */
async function round(url: string, priority: StartPriority, seed: number): Promise<Round> {
  const out = join(tmpdir(), `ipa-bench-startup-${process.pid}-${priority}-${seed}.jsonl`);
  const leadSeconds = 8;
  const replay = replayLoad({
    pipeline: 'testbed',
    url,
    source: { loads: new Array(seconds).fill(rps), name: `${rps} requests/s` },
    arrivals: 'poisson',
    seed,
    slaMs,
    out,
  });
  await sleep(leadSeconds * 1000);
  const from = Date.now();
  const servers = await Promise.all(
    Array.from({ length: starting }, () => startModelServer({ variant: 'reduce-kpca1200', cpuLimit: 0.25, startPriority: priority })),
  );
  const to = Date.now();
  await Promise.all(servers.map((s) => s.stop()));
  await replay;
  const records = (await readFile(out, 'utf8'))
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as ReplayRecord);
  await rm(out, { force: true });
  const within = (r: ReplayRecord) => r.sentAt >= from && r.sentAt <= to;
  return { startMs: to - from, during: records.filter(within), outside: records.filter((r) => !within(r)) };
}

const late = (r: ReplayRecord) => r.outcome !== 'ok' || r.latencyMs > slaMs;
function figures(records: ReplayRecord[]) {
  const ok = records.filter((r) => r.outcome === 'ok').map((r) => r.latencyMs);
  return {
    n: records.length,
    p50: percentile(ok, 0.5),
    p99: percentile(ok, 0.99),
    violations: (100 * records.filter(late).length) / Math.max(1, records.length),
  };
}

const priorities: StartPriority[] = ['equal', 'low'];
const results = new Map<StartPriority, Round[]>(priorities.map((p) => [p, []]));
const testbed = await startLiveTestbed();
try {
  await testbed.actuator.apply({ decisionId: 'serving', pipeline: 'testbed', config: serving });
  // Alternating, so a drift of the machine over the run falls on both alike.
  for (let r = 1; r <= rounds; r++) {
    for (const priority of priorities) {
      results.get(priority)?.push(await round(testbed.gateway.url, priority, r));
      process.stderr.write(`round ${r}/${rounds} (${priority} weight) done\n`);
    }
  }
} finally {
  await testbed.close();
}

const f1 = (x: number) => x.toFixed(1);
const rows = priorities.map((priority) => {
  const all = results.get(priority) ?? [];
  const during = figures(all.flatMap((r) => r.during));
  const outside = figures(all.flatMap((r) => r.outside));
  return {
    priority,
    row: [
      priority === 'low' ? 'lowest weight (ipa)' : 'equal weight (baseline)',
      (
        percentile(
          all.map((r) => r.startMs),
          0.5,
        ) / 1000
      ).toFixed(2),
      `${during.n}`,
      `${f1(during.p50)} / ${f1(during.p99)}`,
      f1(during.violations),
      `${f1(outside.p50)} / ${f1(outside.p99)}`,
      f1(outside.violations),
      (during.p99 / outside.p99).toFixed(2),
    ],
    during,
  };
});
process.stdout.write(
  `${starting} MLServers starting beside the testbed (${values.shape} replicas) serving ${rps} requests/s (SLA ${slaMs} ms), ${rounds} rounds of ${seconds} s each\n\n`,
);
process.stdout.write(
  `${table(
    [
      'servers start at',
      'start to ready median s',
      'req. during',
      'during p50 / p99 ms',
      'during viol. %',
      'the rest p50 / p99 ms',
      'the rest viol. %',
      'p99 during / rest',
    ],
    rows.map((r) => r.row),
  )}\n`,
);
const [equal, low] = rows.map((r) => r.during);
if (equal && low) process.stdout.write(`\np99 while servers start: ${(equal.p99 / low.p99).toFixed(2)}× lower at the lowest weight\n`);
