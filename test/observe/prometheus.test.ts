import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_PROMETHEUS_QUERY, ObserveError, observePrometheus } from '../../src/observe/prometheus.js';
import { type LoadGenerator, startLoadGenerator } from '../helpers/loadGenerator.js';
import { freePort } from '../helpers/ports.js';
import { startPrometheus, type TestPrometheus } from '../helpers/prometheus.js';

const fill = (seconds: number, load: number) => Array.from({ length: seconds }, () => load);
/** Plateaus with a step up and down, then one-second spikes: per-second resolution shows or it fails. */
const LOADS = [...fill(10, 20), ...fill(10, 80), ...fill(6, 35), 60, 5, 90, 12, 12];
/** Seconds after the loads run out that the window still covers (the generator keeps the last load). */
const AFTER = 2;
/** Asked for more than there is, so the seconds before the first scrape are dropped, not made up. */
const SECONDS = LOADS.length + AFTER + 8;
const OTHER_LOAD = 7;

const loadAt = (i: number) => (i < 0 ? 0 : (LOADS[Math.min(i, LOADS.length - 1)] as number));

/**
 * irate divides the (exact) increase by the distance between the two scrapes' timestamps:
 * exactly 1 s when Prometheus aligns a timestamp to its schedule (a scrape starting within a
 * few ms of it), else 1 s ± the scrape's delay, up to tens of ms on a loaded machine. 10 % covers
 * a 100 ms delay; the loads of neighbouring seconds differ by far more, so a value still names
 * its second.
 */
const close = (observed: number, expected: number) => Math.abs(observed - expected) <= Math.max(0.5, 0.1 * expected);

async function rejection(promise: Promise<unknown>): Promise<ObserveError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ObserveError, `expected an ObserveError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected observePrometheus to fail');
}

describe('observing the load in Prometheus', () => {
  let generator: LoadGenerator;
  let other: LoadGenerator;
  let prometheus: TestPrometheus;
  let startedAtMs: number;
  let endMs: number;

  before(async () => {
    generator = await startLoadGenerator({ pipeline: 'video', loads: LOADS });
    other = await startLoadGenerator({ pipeline: 'text', loads: [OTHER_LOAD] });
    prometheus = await startPrometheus({ targets: [generator.target, other.target] });
    startedAtMs = (await generator.started(30_000)).startedAtMs;
    endMs = startedAtMs + (LOADS.length + AFTER) * 1000;
    // Until the scrape covering endMs is in the TSDB (it is appended as it happens).
    await sleep(Math.max(0, endMs + 1500 - Date.now()));
  });

  after(async () => {
    await prometheus?.stop();
    await generator?.stop();
    await other?.stop();
  });

  const observe = (overrides: Partial<Parameters<typeof observePrometheus>[0]> = {}) =>
    observePrometheus({ url: prometheus.url, query: DEFAULT_PROMETHEUS_QUERY, pipeline: 'video', endMs, seconds: SECONDS, ...overrides });

  /**
   * The load generator's seconds i start at startedAtMs + i·1000, half-way between scrapes; the
   * value at time t is the increase between the last two scrapes at or before t, i.e. the second
   * whose step lies between them.
   */
  const expectedAt = (tSeconds: number) => loadAt(Math.floor((tSeconds * 1000 - startedAtMs - 500) / 1000));

  it('gives back the generated per-second loads, aligned in time, oldest first', async () => {
    const loads = await observe();
    const end = Math.floor(endMs / 1000);
    // Before the first two scrapes there is no rate: those seconds are dropped.
    assert.ok(loads.length >= LOADS.length + AFTER - 1 && loads.length < SECONDS, `window of ${loads.length} s: ${loads}`);
    // Scrapes land 500 ms off the generator's steps; only when they also fall within a few ms
    // of a whole second may a point be taken from the scrape on either side of it.
    const phase = (((startedAtMs - 500) % 1000) + 1000) % 1000;
    const onTheSecond = phase < 25 || phase > 975;
    const misses = loads.flatMap((observed, k) => {
      const t = end - (loads.length - 1 - k);
      const candidates = onTheSecond ? [expectedAt(t), expectedAt(t - 1), expectedAt(t + 1)] : [expectedAt(t)];
      return candidates.some((expected) => close(observed, expected)) ? [] : [`t=${t}: observed ${observed}, expected ${expectedAt(t)}`];
    });
    assert.deepEqual(misses, [], `observed ${JSON.stringify(loads)}`);
    assert.ok(close(loads.at(-1) as number, LOADS.at(-1) as number), 'the last load goes on after the list');
  });

  it('puts the pipeline into the query', async () => {
    const loads = await observe({ pipeline: 'text' });
    assert.ok(loads.length > 0 && loads.every((v) => close(v, OTHER_LOAD)), `observed ${JSON.stringify(loads)}`);
  });

  it('carries a value over a gap and drops the seconds before the first point', async () => {
    // Filters make real gaps in Prometheus's answer: `!= 80` leaves holes inside the window,
    // `> 30` removes its beginning (the 20s) as well.
    const query = 'sum(irate(ipa_requests_total{pipeline="$pipeline"}[5s]))';
    const [all, holes, late] = await Promise.all([observe(), observe({ query: `${query} != 80` }), observe({ query: `${query} > 30` })]);
    const carried = (keep: (v: number) => boolean) => {
      const out: number[] = [];
      for (const v of all) {
        if (keep(v)) out.push(v);
        else if (out.length > 0) out.push(out.at(-1) as number);
      }
      return out;
    };
    assert.deepEqual(
      holes,
      carried((v) => v !== 80),
    );
    assert.deepEqual(
      late,
      carried((v) => v > 30),
    );
    assert.ok(late.length < all.length && late.length > 0);
  });

  it('counts values that are not loads (negative, infinite, NaN) as 0', async () => {
    const query = 'sum(irate(ipa_requests_total{pipeline="$pipeline"}[5s]))';
    const [all, shifted, infinite, nan] = await Promise.all([
      observe(),
      observe({ query: `${query} - 50` }),
      observe({ query: `${query} / 0` }),
      observe({ query: `(${query} - ${query}) / 0` }),
    ]);
    assert.deepEqual(
      shifted,
      all.map((v) => Math.max(0, v - 50)),
    );
    assert.deepEqual(infinite, fill(all.length, 0));
    assert.deepEqual(nan, fill(all.length, 0));
  });

  it('rejects bad PromQL for good, naming the query and quoting Prometheus', async () => {
    const err = await rejection(observe({ query: 'sum(irate(ipa_requests_total{pipeline="$pipeline"}[5s])' }));
    assert.equal(err.retryable, false);
    assert.match(err.message, /ipa_requests_total\{pipeline=\\"video\\"\}\[5s\]\)/);
    assert.match(err.message, /HTTP 400\): bad_data: .*parse error/);
    assert.ok(err.message.includes(prometheus.url));
  });

  it('fails for good when the query gives more than one series', async () => {
    const err = await rejection(observe({ query: 'irate(ipa_requests_total[5s])' }));
    assert.equal(err.retryable, false);
    assert.match(err.message, /^2 series for query "irate\(ipa_requests_total\[5s\]\)".*expected one/);
  });

  it('fails retryably when no series matches, naming the query and the url', async () => {
    const err = await rejection(observe({ pipeline: 'nobody' }));
    assert.equal(err.retryable, true);
    assert.match(err.message, /^no series for query "sum\(irate\(ipa_requests_total\{pipeline=\\"nobody\\"\}\[5s\]\)\)"/);
    assert.ok(err.message.includes(prometheus.url));
  });

  it('fails retryably when Prometheus is unreachable', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const err = await rejection(observe({ url }));
    assert.equal(err.retryable, true);
    assert.match(err.message, /unreachable \(ECONNREFUSED\)/);
    assert.ok(err.message.includes(url));
  });

  it('fails retryably when Prometheus does not answer in time', async () => {
    // The one stand-in: a server that accepts and never answers, as a stuck Prometheus would.
    const silent: Server = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    try {
      const err = await rejection(observe({ url, timeoutMs: 200 }));
      assert.equal(err.retryable, true);
      assert.match(err.message, /no answer within 200 ms/);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('rejects a bad window by field and value before asking', async () => {
    const err = await rejection(observe({ seconds: 0 }));
    assert.equal(err.retryable, false);
    assert.equal(err.message, 'observe prometheus: seconds must be an integer from 1 to 11000, got 0');
    const url = await rejection(observe({ url: 'prometheus:9090' }));
    assert.match(url.message, /url must be an http\(s\) URL, got "prometheus:9090"/);
  });
});
