import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import {
  countRecords,
  intervalsOf,
  outcomeOf,
  outsideGateway,
  parseOutcomeCounts,
  parseScale,
  type ReplayRecord,
  recordOf,
  replaySchedule,
  sourceLoads,
} from '../../src/live/loadReplay.js';
import { type RequestAnswer, runScheduledLoad } from '../../src/profiling/loadGenerator.js';
import { freePort } from '../../src/tooling/freePort.js';

/** Requests per bin of `binMs`, over `bins` bins. */
function histogram(sendAtMs: ArrayLike<number>, binMs: number, bins: number): number[] {
  const counts = Array(bins).fill(0) as number[];
  for (let i = 0; i < sendAtMs.length; i++) {
    const bin = Math.floor((sendAtMs[i] as number) / binMs);
    if (bin < bins) counts[bin] = (counts[bin] as number) + 1;
  }
  return counts;
}

const sum = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0);

describe('load replay schedule', () => {
  let bursty: number[];
  before(async () => {
    bursty = Array.from((await sourceLoads({ pattern: 'bursty' })).loads);
  });

  test("poisson at its own scale and speed: every second sends exactly the pattern's load", () => {
    assert.equal(bursty.length, 1200);
    const schedule = replaySchedule({ loads: bursty, arrivals: 'poisson', seed: 3 });
    assert.equal(schedule.factor, 1);
    assert.deepEqual(Array.from(schedule.counts), bursty);
    assert.equal(schedule.sendAtMs.length, sum(bursty));
    assert.deepEqual(histogram(schedule.sendAtMs, 1000, 1200), bursty);
    assert.equal(schedule.durationMs, 1_200_000);
    assert.equal(schedule.peakRps, 34);
    for (let i = 1; i < schedule.sendAtMs.length; i++) assert.ok((schedule.sendAtMs[i] as number) >= (schedule.sendAtMs[i - 1] as number));
  });

  test('a peak scale and a speed: trace second i goes out in real [i/speed, (i+1)/speed) at the scaled count', () => {
    const schedule = replaySchedule({ loads: bursty, scale: { peakRps: 120 }, speed: 4, arrivals: 'poisson', seed: 5 });
    const factor = 120 / (4 * 34);
    assert.ok(Math.abs(schedule.factor - factor) < 1e-12);
    assert.equal(schedule.peakRps, 120);
    assert.equal(schedule.durationMs, 300_000);
    for (const [i, load] of bursty.entries()) {
      const count = schedule.counts[i] as number;
      assert.ok(count === Math.floor(load * factor) || count === Math.ceil(load * factor), `second ${i}: ${count} for ${load * factor}`);
    }
    assert.equal(sum(schedule.counts), Math.round(sum(bursty) * factor));
    assert.deepEqual(histogram(schedule.sendAtMs, 250, 1200), Array.from(schedule.counts));
    // The busiest trace second goes out at the peak rate: 30 requests in a quarter of a second.
    assert.equal(Math.max(...histogram(schedule.sendAtMs, 250, 1200)) * 4, 120);
  });

  test('a factor and a run cut to real seconds', () => {
    const half = replaySchedule({ loads: bursty, scale: { factor: 0.5 }, speed: 2, seconds: 60, arrivals: 'poisson' });
    assert.equal(half.counts.length, 120);
    assert.equal(half.durationMs, 60_000);
    assert.equal(sum(half.counts), Math.round(sum(bursty.slice(0, 120)) * 0.5));
    assert.equal(half.sendAtMs.length, sum(half.counts));
    assert.ok((half.sendAtMs[half.sendAtMs.length - 1] as number) < 60_000);
    // 10.5 s at speed 1 plays 11 trace seconds and keeps what falls in the first 10.5.
    const cut = replaySchedule({ loads: [10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10], seconds: 10.5, arrivals: 'poisson', seed: 2 });
    assert.equal(cut.counts.length, 11);
    assert.equal(cut.durationMs, 10_500);
    assert.ok(cut.sendAtMs.every((ms) => ms < 10_500));
    assert.equal(
      histogram(cut.sendAtMs, 1000, 10).every((n) => n === 10),
      true,
    );
  });

  test("bursts are IPA's: the same counts, bunched at each second's start; poisson spreads them", () => {
    const bursts = replaySchedule({ loads: bursty, arrivals: 'bursts', seed: 3 });
    const poisson = replaySchedule({ loads: bursty, arrivals: 'poisson', seed: 3 });
    assert.deepEqual(bursts.counts, poisson.counts);
    assert.equal(bursts.sendAtMs.length, poisson.sendAtMs.length);
    const meanOffset = (ms: Float64Array) => sum(Array.from(ms, (t) => t % 1000)) / ms.length;
    assert.ok(meanOffset(poisson.sendAtMs) > 450 && meanOffset(poisson.sendAtMs) < 550, `poisson ${meanOffset(poisson.sendAtMs)}`);
    assert.ok(meanOffset(bursts.sendAtMs) < 150, `bursts ${meanOffset(bursts.sendAtMs)}`);
    // A few requests of a burst spill into the next second, as in IPA's generator; most seconds match.
    const perSecond = histogram(bursts.sendAtMs, 1000, 1200);
    const same = perSecond.filter((n, i) => n === bursty[i]).length;
    assert.ok(same > 0.9 * 1200, `${same} of 1200 seconds match`);
    // Seeded.
    assert.deepEqual(replaySchedule({ loads: bursty, arrivals: 'bursts', seed: 3 }).sendAtMs, bursts.sendAtMs);
    assert.notDeepEqual(replaySchedule({ loads: bursty, arrivals: 'bursts', seed: 4 }).sendAtMs, bursts.sendAtMs);
  });

  test('bad options name the field and the value', () => {
    assert.throws(() => replaySchedule({ loads: [0, 0], scale: { peakRps: 10 } }), /have no load: a peak of 10/);
    assert.throws(() => replaySchedule({ loads: [1], speed: 0 }), /speed must be a finite number > 0, got 0/);
    assert.throws(() => replaySchedule({ loads: [1, -2] }), /loads\[1\] must be a number ≥ 0, got -2/);
    assert.throws(() => replaySchedule({ loads: [] }), /no second of load/);
    assert.throws(() => replaySchedule({ loads: [1000], scale: { factor: 2001 } }), /would send 2001000 requests, more than the 2000000/);
    assert.throws(() => replaySchedule({ loads: [1], arrivals: 'uniform' as never }), /arrivals must be one of poisson, bursts/);
    assert.deepEqual(parseScale('150'), { peakRps: 150 });
    assert.deepEqual(parseScale('0.5x'), { factor: 0.5 });
    assert.deepEqual(parseScale('2X'), { factor: 2 });
    assert.throws(() => parseScale('0'), /scale must be .* got "0"/);
    assert.throws(() => parseScale('fast'), /got "fast"/);
  });

  test('a trace file plays from its start second, as written', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ipa-replay-'));
    try {
      const file = join(dir, 'trace.txt');
      await writeFile(file, '1 2 3 4 5 6\n');
      const { loads, label } = await sourceLoads({ trace: file, start: 2 }, 3);
      assert.deepEqual(Array.from(loads), [3, 4, 5]);
      assert.match(label, /from second 2/);
      await assert.rejects(sourceLoads({ trace: file, start: 6 }), /has 6 seconds: start 6 is past its end/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('load replay accounting', () => {
  test('outcomes: 200 ok, the drop rule’s 503 dropped, anything else an error', () => {
    assert.equal(outcomeOf(200), 'ok');
    assert.equal(outcomeOf(503, '{"error":"request dropped: it waited past the drop limit for stage reduce (15 ms)"}'), 'dropped');
    assert.equal(outcomeOf(503, '{"error":"the gateway is shutting down"}'), 'error');
    assert.equal(outcomeOf(502, 'stage classify replica failed'), 'error');
    assert.equal(outcomeOf(0, 'connect ECONNREFUSED'), 'error');
  });

  test("the gateway's counters from its metrics text, for its pipeline only", () => {
    const text = [
      '# HELP ipa_gateway_requests_total Pipeline requests answered, by outcome',
      '# TYPE ipa_gateway_requests_total counter',
      'ipa_gateway_requests_total{pipeline="testbed",outcome="ok"} 41',
      'ipa_gateway_requests_total{pipeline="testbed",outcome="dropped"} 7',
      'ipa_gateway_requests_total{outcome="error",pipeline="testbed"} 3',
      'ipa_gateway_requests_total{pipeline="other",outcome="ok"} 1000',
    ].join('\n');
    assert.deepEqual(parseOutcomeCounts(text, 'testbed'), { ok: 41, dropped: 7, error: 3 });
    assert.throws(() => parseOutcomeCounts(text, 'nope'), /no ipa_gateway_requests_total for pipeline nope, outcome ok, dropped, error/);
  });

  test('violations are late ok answers and drops; intervals cut by scheduled time', () => {
    const record = (i: number, scheduledMs: number, outcome: ReplayRecord['outcome'], latencyMs: number): ReplayRecord => ({
      i,
      sentAt: 0,
      scheduledMs,
      sentMs: scheduledMs,
      latencyMs,
      status: outcome === 'ok' ? 200 : outcome === 'dropped' ? 503 : 502,
      outcome,
    });
    const records = [
      record(0, 100, 'ok', 10),
      record(1, 200, 'ok', 250),
      record(2, 900, 'dropped', 300),
      record(3, 1500, 'error', 5),
      record(4, 1600, 'ok', 20),
    ];
    const counts = countRecords(records, 200);
    assert.deepEqual(
      {
        sent: counts.sent,
        ok: counts.ok,
        dropped: counts.dropped,
        errors: counts.errors,
        late: counts.lateOk,
        v: counts.violationsPercent,
      },
      { sent: 5, ok: 3, dropped: 1, errors: 1, late: 1, v: 40 },
    );
    assert.equal(counts.p50Ms, 20);
    assert.equal(counts.maxMs, 250);
    const intervals = intervalsOf(records, 200, 1, 2000);
    assert.deepEqual(
      intervals.map((i) => [i.fromS, i.toS, i.sent, i.ok, i.dropped, i.errors, i.violations]),
      [
        [0, 1, 3, 2, 1, 0, 2],
        [1, 2, 2, 1, 0, 1, 0],
      ],
    );
  });

  test("outside the gateway: an ok answer's latency less the gateway's Server-Timing, over the answers that carry it", () => {
    const answer = (index: number, latencyMs: number, status: number, gateway?: number): RequestAnswer => ({
      index,
      scheduledMs: index,
      sentMs: index,
      sentAt: 0,
      latencyMs,
      status,
      timedOut: false,
      ...(gateway === undefined ? {} : { serverTiming: { upstream: gateway / 2, gateway } }),
    });
    const records = [answer(0, 30, 200, 27), answer(1, 50, 200, 40), answer(2, 400, 503, 300), answer(3, 12, 200)].map(recordOf);
    assert.deepEqual(
      records.map((r) => r.gatewayMs),
      [27, 40, 300, undefined],
    );
    // The drop and the answer without timing do not count: 3 and 10 ms.
    assert.deepEqual(outsideGateway(records), { p50Ms: 3, p99Ms: 10 });
    assert.equal(outsideGateway(records.slice(3)), undefined);
  });

  test('the open loop reports every request sent exactly once, also when none is answered and when stopped early', async () => {
    // Nothing listens on a port just freed: every request fails to connect, and is still counted once.
    const port = await freePort();
    const endpoint = { baseUrl: `http://127.0.0.1:${port}`, model: 'm' };
    const payload = { inputs: [{ name: 'input-0', datatype: 'FP32', shape: [1, 1], data: [0] }] };
    const answers: RequestAnswer[] = [];
    const scheduleMs = Array.from({ length: 30 }, (_, i) => i * 5);
    const result = await runScheduledLoad({ endpoint, payload, scheduleMs, onAnswer: (a) => answers.push(a) });
    assert.equal(result.sent, 30);
    assert.equal(result.errors + result.timeouts + result.ok, 30);
    assert.deepEqual(
      answers.map((a) => a.index).sort((a, b) => a - b),
      scheduleMs.map((_, i) => i),
    );
    assert.ok(
      answers.every((a) => a.status === 0 && /fetch failed|ECONNREFUSED/.test(a.error ?? '')),
      JSON.stringify(answers[0]),
    );

    const controller = new AbortController();
    const stopped: RequestAnswer[] = [];
    const sent: number[] = [];
    setTimeout(() => controller.abort(), 150);
    const early = await runScheduledLoad({
      endpoint,
      payload,
      scheduleMs: Array.from({ length: 100 }, (_, i) => i * 20),
      signal: controller.signal,
      onSend: (i) => sent.push(i),
      onAnswer: (a) => stopped.push(a),
    });
    assert.equal(early.aborted, true);
    assert.ok(early.sent > 0 && early.sent < 100, `${early.sent} sent`);
    assert.equal(stopped.length, early.sent);
    assert.equal(sent.length, early.sent);
    await assert.rejects(runScheduledLoad({ endpoint, payload, scheduleMs: [10, 5] }), /scheduleMs must be ascending .* got 5 at \[1\]/);
  });
});
