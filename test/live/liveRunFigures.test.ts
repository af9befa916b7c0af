import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolvePipelineSpec, resolveProfileSet } from '../../src/io/load.js';
import { heldIntegral, heldMean, heldPerSecond } from '../../src/live/heldSamples.js';
import { allocatedCores, configPas } from '../../src/live/liveAllocation.js';
import { liveRunPlan } from '../../src/live/liveRunPlan.js';
import { conserved, liveRunSeries, measuredFigures } from '../../src/live/liveRunSummary.js';
import type { ReplicaRecord } from '../../src/live/liveState.js';
import type { ReplayRecord } from '../../src/live/loadReplay.js';
import { LOCAL_RECONFIGURATION_DELAY_SECONDS, measuredReconfigurationDelay, replayPattern } from '../../src/live/simulatedLiveRun.js';
import type { Config } from '../../src/model/config.js';
import type { DecisionRecord } from '../../src/model/decisionRecord.js';

/** A request of a replay: sent at `atMs` (scheduled and real), answered after `latencyMs`. */
const request = (i: number, atMs: number, latencyMs: number, outcome: ReplayRecord['outcome'] = 'ok'): ReplayRecord => ({
  i,
  sentAt: 1_700_000_000_000 + atMs,
  scheduledMs: atMs,
  sentMs: atMs,
  latencyMs,
  status: outcome === 'ok' ? 200 : outcome === 'dropped' ? 503 : 0,
  outcome,
});

const replica = (shape: string, routed = true) => ({ shape, routed }) as ReplicaRecord;

describe('held samples: a step function read now and then', () => {
  const samples = [
    { atMs: 0, value: 1 },
    { atMs: 2000, value: 3 },
    { atMs: 5000, value: 2 },
  ];

  test('the integral holds each reading until the next, the first before it and the last after it', () => {
    // 1 × 2 s + 3 × 3 s + 2 × 5 s over [0, 10 s).
    assert.equal(heldIntegral(samples, 0, 10_000), 2 + 9 + 10);
    // The first reading covers the time before it; a span inside one step is that value × its length.
    assert.equal(heldIntegral(samples, -1000, 1000), 2);
    assert.equal(heldIntegral(samples, 2500, 3500), 3);
    assert.equal(heldIntegral([], 0, 1000), 0);
    assert.equal(heldIntegral(samples, 5000, 5000), 0);
  });

  test('the mean is time-weighted, and per second it follows the steps', () => {
    assert.equal(heldMean(samples, 0, 10_000), 2.1);
    assert.ok(Number.isNaN(heldMean([], 0, 1000)));
    assert.deepEqual(heldPerSecond(samples, 0, 6), [1, 1, 3, 3, 3, 2]);
    // A change mid-second gives that second the time-weighted mix.
    assert.deepEqual(
      heldPerSecond(
        [
          { atMs: 0, value: 1 },
          { atMs: 500, value: 2 },
        ],
        0,
        2,
      ),
      [1.5, 2],
    );
  });
});

describe('what a live pipeline holds', () => {
  test('allocated cores count every replica record, draining ones too', () => {
    assert.equal(allocatedCores({ replicas: [] }), 0);
    assert.equal(
      allocatedCores({ replicas: [replica('cpu-250m'), replica('cpu-500m'), replica('cpu-500m', false), replica('cpu-1')] }),
      2.25,
    );
  });

  test("a config's PAS is the spec's method over the profile accuracies", async () => {
    const spec = await resolvePipelineSpec('testbed');
    const profiles = await resolveProfileSet('testbed');
    const config: Config = {
      stages: [
        { stage: 'reduce', variant: 'reduce-kpca300', shape: 'cpu-250m', batch: 1, replicas: 2 },
        { stage: 'classify', variant: 'classify-mlp', shape: 'cpu-500m', batch: 4, replicas: 1 },
      ],
    };
    assert.equal(spec.pas, 'multiply');
    assert.ok(Math.abs(configPas(config, profiles, 'multiply') - 0.9407 * 0.9796) < 1e-12);
    assert.ok(Math.abs(configPas(config, profiles, 'average') - (0.9407 + 0.9796) / 2) < 1e-12);
    assert.ok(Number.isNaN(configPas(undefined, profiles, 'multiply')), 'nothing serves: no PAS');
    const unknown = { stages: [{ ...(config.stages[0] as Config['stages'][number]), variant: 'reduce-nope' }] };
    assert.ok(Number.isNaN(configPas(unknown, profiles, 'multiply')));
  });
});

describe("a live run's figures", () => {
  const slaMs = 200;
  const records = [
    request(0, 100, 50),
    request(1, 600, 250), // late: a violation
    request(2, 1200, 80),
    request(3, 1500, 300, 'dropped'), // a violation
    request(4, 2100, 0, 'error'), // counted apart, not a violation
    request(5, 2500, 120),
  ];
  const measures = {
    records,
    cores: [
      { atMs: -300, value: 0.5 },
      { atMs: 1000, value: 1.5 },
      { atMs: 2000, value: 1 },
    ],
    pas: [
      { atMs: -300, value: 0.8 },
      { atMs: 1500, value: 0.9 },
    ],
    durationMs: 3000,
    slaMs,
  };

  test('counts, violations, core-seconds and mean PAS', () => {
    const m = measuredFigures(measures);
    assert.deepEqual(
      { sent: m.sent, ok: m.ok, dropped: m.dropped, errors: m.errors, seconds: m.seconds, slaMs: m.slaMs },
      { sent: 6, ok: 4, dropped: 1, errors: 1, seconds: 3, slaMs },
    );
    assert.ok(conserved(m));
    // A late answer and a drop of 6 requests; the error is not one.
    assert.equal(m.violationsPct, 33.333);
    // Nearest rank over the ok latencies 50, 80, 120, 250.
    assert.equal(m.p50Ms, 80);
    assert.equal(m.p99Ms, 250);
    // 0.5 × 1 s + 1.5 × 1 s + 1 × 1 s (the reading before the start holds from it).
    assert.equal(m.coreSeconds, 3);
    assert.equal(m.meanPas, Math.round(((0.8 * 1.5 + 0.9 * 1.5) / 3) * 1000) / 1000);
    assert.ok(!conserved({ sent: 6, ok: 4, dropped: 1, errors: 0 }));
  });

  test('per second and per interval', () => {
    const series = liveRunSeries(measures, 2);
    assert.deepEqual(series.sent, [2, 2, 2]);
    assert.deepEqual(series.cores, [0.5, 1.5, 1]);
    assert.deepEqual(series.pas, [0.8, 0.85, 0.9]);
    assert.deepEqual(
      series.intervals.map((i) => [i.fromS, i.toS, i.sent, i.p99Ms]),
      [
        [0, 2, 4, 250],
        [2, 4, 2, 120],
      ],
    );
  });
});

describe('how a pattern is played live', () => {
  test('the whole pattern in the minutes given, its busiest second at the peak given, for all patterns', () => {
    const standard = liveRunPlan(1200, 34, 40);
    assert.equal(standard.minutes, 10);
    assert.equal(standard.speed, 2);
    assert.equal(standard.hpaStabilizationSeconds, 150);
    const short = liveRunPlan(1200, 34, 40, 1);
    assert.equal(short.speed, 20);
    assert.equal(short.hpaStabilizationSeconds, 15);
    for (const plan of [standard, short]) {
      assert.ok('factor' in plan.scale);
      // Real rate = factor × load × speed: 34 trace requests/s go out at 40 requests/s at any speed.
      assert.ok(Math.abs(plan.scale.factor * 34 * plan.speed - 40) < 1e-9);
    }
    assert.throws(() => liveRunPlan(1200, 34, 40, 0), /minutes must be > 0/);
    assert.throws(() => liveRunPlan(1200, 34, 0), /peakRps must be > 0, got 0/);
    // One factor for every pattern: at 10 requests/s the same plan is a quarter as loud.
    const quieter = liveRunPlan(1200, 34, 10);
    assert.ok('factor' in quieter.scale && 'factor' in standard.scale);
    assert.ok(Math.abs(quieter.scale.factor * 4 - standard.scale.factor) < 1e-12);
  });

  test("the replay as the simulator's pattern: requests per real second after 120 s without load", () => {
    const pattern = replayPattern('bursty', Float64Array.from([0, 10, 999, 1000, 2500, 2999.9]), 2500);
    assert.deepEqual(Array.from(pattern.loads), [3, 1, 2]);
    assert.equal(pattern.withHistory.length, 123);
    assert.ok(pattern.withHistory.subarray(0, 120).every((v) => v === 0));
    assert.equal(pattern.name, 'bursty');
  });
});

describe("the simulator's reconfiguration delay in a live run", () => {
  const applied = (servingMs?: number, status: 'applied' | 'failed' = 'applied') =>
    ({ apply: { actuator: 'local', status, detail: '', ...(servingMs !== undefined ? { servingMs } : {}) } }) as DecisionRecord;

  test("the median of the run's applies that started replicas, from the apply's start to serving", () => {
    // Started replicas: 14.1, 21.1 and 26.4 s; a scale-down (no servingMs), a step without apply and a failure do not count.
    const decisions = [applied(21_069), applied(), {} as DecisionRecord, applied(14_071), applied(40_000, 'failed'), applied(26_437)];
    assert.deepEqual(measuredReconfigurationDelay(decisions), { seconds: 21.069, measured: 3 });
  });

  test('the bench:serving constant when no apply started a replica', () => {
    assert.deepEqual(measuredReconfigurationDelay([applied(), {} as DecisionRecord]), {
      seconds: LOCAL_RECONFIGURATION_DELAY_SECONDS,
      measured: 0,
    });
  });
});
