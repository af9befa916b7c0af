import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  fetchModelMetadata,
  type InferenceEndpoint,
  inferUrl,
  payloadFromFile,
  payloadFromMetadata,
  serverReady,
} from '../../src/profiling/inferenceEndpoint.js';
import { type LoadResult, runClosedLoop, runOpenLoop } from '../../src/profiling/loadGenerator.js';
import { poissonArrivals } from '../../src/profiling/poissonArrivals.js';
import { ensureTestbed, type ModelServer, startModelServer } from '../../src/profiling/testbed.js';
import { groupAlive } from '../../src/tooling/processGroup.js';

const dummyPayload = { inputs: [{ name: 'input-0', datatype: 'FP32', shape: [1, 1], data: [0] }] };
const dummyEndpoint: InferenceEndpoint = { baseUrl: 'http://127.0.0.1:9', model: 'm' };

describe('load generator input checks', () => {
  test('name the field and the value', async () => {
    await assert.rejects(
      runOpenLoop({ endpoint: dummyEndpoint, payload: dummyPayload, ratePerSecond: 0, durationMs: 1000 }),
      /ratePerSecond .* got 0/,
    );
    await assert.rejects(
      runOpenLoop({ endpoint: dummyEndpoint, payload: dummyPayload, ratePerSecond: 5, durationMs: -3 }),
      /durationMs .* got -3/,
    );
    await assert.rejects(
      runClosedLoop({ endpoint: dummyEndpoint, payload: dummyPayload, concurrency: 2, durationMs: Number.NaN }),
      /durationMs .* got null/,
    );
    await assert.rejects(
      runOpenLoop({ endpoint: { baseUrl: 'localhost:8080', model: 'm' }, payload: dummyPayload, ratePerSecond: 5, durationMs: 1000 }),
      /endpoint\.baseUrl .*"localhost:8080"/,
    );
    await assert.rejects(
      runClosedLoop({ endpoint: { baseUrl: 'not a url', model: 'm' }, payload: dummyPayload, concurrency: 1, durationMs: 1000 }),
      /endpoint\.baseUrl .*"not a url"/,
    );
    await assert.rejects(
      runClosedLoop({ endpoint: dummyEndpoint, payload: dummyPayload, concurrency: 0, durationMs: 1000 }),
      /concurrency .* got 0/,
    );
    await assert.rejects(
      runClosedLoop({ endpoint: dummyEndpoint, payload: dummyPayload, concurrency: 1, durationMs: 1000, timeoutMs: 0 }),
      /timeoutMs .* got 0/,
    );
    assert.throws(() => payloadFromMetadata({ name: 'm', inputs: [] }, { batchSize: 1 }), /model m declares no inputs/);
    assert.throws(
      () => payloadFromMetadata({ name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }] }, { batchSize: 0 }),
      /batchSize .* got 0/,
    );
  });

  test('Poisson arrivals are seeded and close to the rate', () => {
    const arrivals = poissonArrivals(100, 10_000, 7);
    assert.deepEqual(arrivals, poissonArrivals(100, 10_000, 7));
    assert.ok(arrivals.length > 900 && arrivals.length < 1100, `${arrivals.length} arrivals for 1000 expected`);
    assert.ok(arrivals.every((at, i) => at >= (arrivals[i - 1] ?? 0) && at < 10_000));
  });
});

function assertSanePercentiles(result: LoadResult): void {
  assert.ok(result.p50Ms > 0, `p50 ${result.p50Ms}`);
  assert.ok(result.p50Ms <= result.p95Ms && result.p95Ms <= result.p99Ms && result.p99Ms <= result.maxMs, JSON.stringify(result));
  assert.ok(result.meanMs > 0 && result.meanMs <= result.maxMs, JSON.stringify(result));
}

// Real MLServer processes: the first run creates the testbed venv (about a minute cold).
describe('load generator against MLServer', { timeout: 240_000 }, () => {
  let small: ModelServer;
  let big: ModelServer;
  let smallEndpoint: InferenceEndpoint;
  let bigEndpoint: InferenceEndpoint;

  before(async () => {
    await ensureTestbed();
    [small, big] = await Promise.all([startModelServer({ variant: 'classify-logreg' }), startModelServer({ variant: 'classify-rf200' })]);
    smallEndpoint = { baseUrl: small.url, model: small.model };
    bigEndpoint = { baseUrl: big.url, model: big.model };
  });

  after(async () => {
    await Promise.all([small?.stop(), big?.stop()]);
  });

  test('the testbed has three or more variants per stage, with held-out accuracy', async () => {
    const { variants } = await ensureTestbed();
    for (const stage of ['reduce', 'classify']) {
      const ofStage = variants.filter((v) => v.stage === stage);
      assert.ok(ofStage.length >= 3, `${ofStage.length} variants of stage ${stage}`);
      assert.ok(
        ofStage.every((v) => v.accuracy > 50 && v.accuracy <= 100),
        JSON.stringify(ofStage),
      );
      assert.ok(new Set(ofStage.map((v) => v.accuracy)).size > 1, `stage ${stage} variants all have one accuracy`);
    }
  });

  test('a payload built from the model metadata is accepted', async () => {
    const metadata = await fetchModelMetadata(smallEndpoint);
    const payload = payloadFromMetadata(metadata, { batchSize: 4 });
    assert.deepEqual(payload.inputs[0]?.shape, [4, 64]);
    assert.equal(payload.inputs[0]?.data.length, 256);
    const response = await fetch(inferUrl(smallEndpoint), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    });
    const body = (await response.json()) as { outputs: { name: string; shape: number[]; data: number[] }[] };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(body.outputs[0]?.name, 'predict');
    assert.equal(body.outputs[0]?.data.length, 4);
    assert.ok(body.outputs[0]?.data.every((digit) => Number.isInteger(digit) && digit >= 0 && digit <= 9));
  });

  test('a payload from a sample file is sent as is', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ipa-sample-'));
    try {
      const sample = join(dir, 'request.json');
      await writeFile(
        sample,
        JSON.stringify({ inputs: [{ name: 'input-0', datatype: 'FP32', shape: [2, 64], data: Array(128).fill(3) }] }),
      );
      const payload = await payloadFromFile(sample);
      const result = await runClosedLoop({ endpoint: smallEndpoint, payload, concurrency: 1, durationMs: 300 });
      assert.ok(result.ok > 0 && result.ok === result.sent, JSON.stringify(result));
      await writeFile(sample, '{"outputs": []}');
      await assert.rejects(payloadFromFile(sample), /request\.json must hold .* got inputs undefined/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a closed-loop run answers every request', async () => {
    const payload = payloadFromMetadata(await fetchModelMetadata(smallEndpoint), { batchSize: 1 });
    const result = await runClosedLoop({ endpoint: smallEndpoint, payload, concurrency: 4, durationMs: 2000 });
    assert.equal(result.mode, 'closed');
    assert.ok(result.sent > 0 && result.throughput > 0, JSON.stringify(result));
    assert.equal(result.ok, result.sent, JSON.stringify(result));
    assert.equal(result.errors + result.timeouts, 0, JSON.stringify(result));
    assertSanePercentiles(result);
  });

  test('an open-loop run sends the seeded arrivals and achieves about the rate', async () => {
    const payload = payloadFromMetadata(await fetchModelMetadata(smallEndpoint), { batchSize: 1 });
    const result = await runOpenLoop({ endpoint: smallEndpoint, payload, ratePerSecond: 20, durationMs: 3000, seed: 3 });
    assert.equal(result.mode, 'open');
    assert.equal(result.sent, poissonArrivals(20, 3000, 3).length);
    assert.equal(result.ok, result.sent, JSON.stringify(result));
    // Poisson counts over 3 s at 20/s spread by about ±8; the seed fixes the count, the margin covers a slow answer.
    assert.ok(result.throughput > 12 && result.throughput < 28, `throughput ${result.throughput} req/s for 20 offered`);
    assertSanePercentiles(result);
  });

  test('a bigger model has a higher mean latency than the smallest', async () => {
    const payload = payloadFromMetadata(await fetchModelMetadata(smallEndpoint), { batchSize: 64 });
    // Alternating short runs exposes both models to the same background load (CI shares the machine).
    const means = { small: [] as number[], big: [] as number[] };
    for (let round = 0; round < 3; round++) {
      for (const [key, endpoint] of [
        ['small', smallEndpoint],
        ['big', bigEndpoint],
      ] as const) {
        const result = await runClosedLoop({ endpoint, payload, concurrency: 1, durationMs: 700 });
        assert.equal(result.ok, result.sent, JSON.stringify(result));
        means[key].push(result.meanMs);
      }
    }
    const average = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    // RandomForest(200) on 64 rows costs about 5× LogisticRegression here; 1.5× leaves room for noise.
    assert.ok(average(means.big) > 1.5 * average(means.small), `rf200 ${means.big.join(', ')} ms vs logreg ${means.small.join(', ')} ms`);
  });

  test('errors and timeouts are counted, not thrown', async () => {
    const wrongShape = { inputs: [{ name: 'input-0', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] };
    const failed = await runClosedLoop({ endpoint: smallEndpoint, payload: wrongShape, concurrency: 1, durationMs: 300 });
    assert.ok(failed.sent > 0 && failed.errors === failed.sent && failed.ok === 0, JSON.stringify(failed));
    assert.match(failed.errorSamples[0] ?? '', /HTTP [45]\d\d/);

    const payload = payloadFromMetadata(await fetchModelMetadata(bigEndpoint), { batchSize: 256 });
    const late = await runClosedLoop({ endpoint: bigEndpoint, payload, concurrency: 1, durationMs: 300, timeoutMs: 1 });
    assert.ok(late.timeouts > 0 && late.ok === 0, JSON.stringify(late));

    const unknown = await runClosedLoop({
      endpoint: { ...smallEndpoint, model: 'no-such-model' },
      payload,
      concurrency: 1,
      durationMs: 200,
    });
    assert.ok(unknown.errors > 0 && unknown.ok === 0, JSON.stringify(unknown));
  });

  test('an unknown variant is refused by name', async () => {
    await assert.rejects(startModelServer({ variant: 'classify-nope' }), /variant "classify-nope" is not in the testbed/);
    await assert.rejects(startModelServer({ variant: 'classify-logreg', maxBatchSize: 0 }), /maxBatchSize .* got 0/);
  });

  test('a stopped server leaves no process', async () => {
    const server = await startModelServer({ variant: 'reduce-pca8', maxBatchSize: 8, maxBatchTimeMs: 5 });
    assert.ok(groupAlive(server.pgid));
    const metadata = await fetchModelMetadata({ baseUrl: server.url, model: server.model });
    const result = await runClosedLoop({
      endpoint: { baseUrl: server.url, model: server.model },
      payload: payloadFromMetadata(metadata, { batchSize: 2 }),
      concurrency: 4,
      durationMs: 500,
    });
    assert.equal(result.ok, result.sent, JSON.stringify(result));
    await server.stop();
    assert.equal(groupAlive(server.pgid), false, `process group ${server.pgid} still alive`);
    assert.equal(await serverReady(server.url, 500), false);
    await server.stop();
  });
});
