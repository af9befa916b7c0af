import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type OutcomeCounts, PipelineGateway, type ReplicaEndpoint } from '../../src/live/pipelineGateway.js';
import { parseServerTiming } from '../../src/profiling/serverTiming.js';
import { type ModelServer, startModelServer } from '../../src/profiling/testbed.js';
import { waitGroupGone } from '../../src/tooling/processGroup.js';
import { waitUntilAsync } from '../helpers/processes.js';

const stages = ['reduce', 'classify'];
const slaMs = 200;

/** Two 8×8 digits (a 0-like ring and a 1-like bar), pixel values 0–16 as in load_digits. */
function digits(batch: number): { name: string; datatype: string; shape: number[]; data: number[] }[] {
  const ring = Array.from({ length: 64 }, (_, i) => {
    const [r, c] = [Math.floor(i / 8), i % 8];
    return (r === 1 || r === 6) && c > 1 && c < 6 ? 16 : (c === 1 || c === 6) && r > 1 && r < 6 ? 16 : 0;
  });
  const bar = Array.from({ length: 64 }, (_, i) => (i % 8 === 4 ? 16 : 0));
  const data = Array.from({ length: batch }, (_, b) => (b % 2 === 0 ? ring : bar)).flat();
  return [{ name: 'input-0', datatype: 'FP32', shape: [batch, 64], data }];
}

interface Answer {
  status: number;
  body: any;
  serverTiming: Record<string, number> | undefined;
}

async function post(url: string, body: unknown): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json(), serverTiming: parseServerTiming(response.headers.get('server-timing')) };
}

const inferOf = (gateway: PipelineGateway) => `${gateway.url}/v2/models/testbed/infer`;
const endpointOf = (server: ModelServer): ReplicaEndpoint => ({ baseUrl: server.url, model: server.model });

/** Tallies answers as a client sees them: 200 ok, 503 dropped, anything else error. */
function tally(answers: Answer[], into: OutcomeCounts): void {
  for (const a of answers) into[a.status === 200 ? 'ok' : a.status === 503 ? 'dropped' : 'error']++;
}

async function metricCounts(gateway: PipelineGateway): Promise<OutcomeCounts & { text: string }> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  const count = (outcome: string) => {
    const match = new RegExp(`^ipa_gateway_requests_total\\{pipeline="testbed",outcome="${outcome}"\\} (\\d+)$`, 'm').exec(text);
    assert.ok(match, `no ${outcome} count in:\n${text}`);
    return Number(match[1]);
  };
  return { ok: count('ok'), dropped: count('dropped'), error: count('error'), text };
}

// Real MLServer processes of the testbed (created on first use, about a minute cold).
describe('pipeline gateway on MLServer replicas', { timeout: 240_000 }, () => {
  let reduce: ModelServer;
  let classify: ModelServer;
  let classify2: ModelServer | undefined;
  let gateway: PipelineGateway;
  const seen: OutcomeCounts = { ok: 0, dropped: 0, error: 0 };

  before(async () => {
    [reduce, classify] = await Promise.all([
      startModelServer({ variant: 'reduce-pca8' }),
      startModelServer({ variant: 'classify-logreg' }),
    ]);
    // A generous drop limit: this gateway's requests must all be answered; the tight one below drops.
    gateway = await PipelineGateway.start({ pipeline: 'testbed', stages, slaMs, dropLimitMs: 10_000 });
  });

  after(async () => {
    await gateway?.close();
    const servers = [reduce, classify, classify2].filter((s): s is ModelServer => s !== undefined);
    await Promise.all(servers.map((s) => s.stop()));
    for (const s of servers) assert.ok(await waitGroupGone(s.pgid, 5000), `model server ${s.model} (pgid ${s.pgid}) is still running`);
  });

  test('ready once every stage has a ready replica; answers are the classifier output', async () => {
    const notReady = await fetch(`${gateway.url}/v2/health/ready`);
    assert.equal(notReady.status, 503);
    assert.match(((await notReady.json()) as { error: string }).error, /reduce, classify/);

    gateway.setReplicas('reduce', [endpointOf(reduce)]);
    gateway.setReplicas('classify', [endpointOf(classify)]);
    assert.ok(await waitUntilAsync(async () => (await fetch(`${gateway.url}/v2/health/ready`)).status === 200, 10_000));

    const through = await post(inferOf(gateway), { id: 'req-1', inputs: digits(2) });
    tally([through], seen);
    assert.equal(through.status, 200, JSON.stringify(through.body));
    assert.equal(through.body.model_name, 'testbed');
    assert.equal(through.body.id, 'req-1');
    // Two stages waited on: the wait is part of the gateway's whole handling.
    const { upstream = 0, gateway: whole = 0 } = through.serverTiming ?? {};
    assert.ok(upstream > 0 && whole >= upstream, JSON.stringify(through.serverTiming));

    // The same request by hand: reduce's output `transform` renamed to classify's input `input-0`.
    const reduced = await post(`${reduce.url}/v2/models/${reduce.model}/infer`, { inputs: digits(2) });
    assert.equal(reduced.body.outputs[0].name, 'transform');
    const direct = await post(`${classify.url}/v2/models/${classify.model}/infer`, {
      inputs: reduced.body.outputs.map((o: any) => ({ name: 'input-0', datatype: o.datatype, shape: o.shape, data: o.data })),
    });
    assert.equal(direct.status, 200, JSON.stringify(direct.body));
    assert.equal(through.body.outputs.length, 1);
    assert.equal(through.body.outputs[0].name, 'predict');
    assert.deepEqual(through.body.outputs[0].shape, [2, 1]);
    assert.deepEqual(through.body.outputs[0].data, direct.body.outputs[0].data);

    const metadata = (await (await fetch(`${gateway.url}/v2/models/testbed`)).json()) as any;
    assert.deepEqual(metadata.inputs, [{ name: 'input-0', datatype: 'FP32', shape: [-1, 64] }]);
  });

  test('bad input gets a 4xx naming the field', async () => {
    const unknown = await post(`${gateway.url}/v2/models/nope/infer`, { inputs: digits(1) });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.error, /model "nope" is not served here; this gateway serves pipeline "testbed"/);

    const answers = [
      await post(inferOf(gateway), '{"inputs": ['),
      await post(inferOf(gateway), { outputs: [] }),
      await post(inferOf(gateway), { inputs: [{ name: 'input-0', datatype: 'FP32', shape: [1, -64], data: [] }] }),
      await post(inferOf(gateway), { inputs: [{ name: 'input-0', datatype: 'FP32', shape: [1, 64], data: [1, 2] }] }),
    ];
    tally(answers, seen);
    assert.deepEqual(
      answers.map((a) => [a.status, a.body.field]),
      [
        [400, 'body'],
        [400, 'inputs'],
        [400, 'inputs[0].shape'],
        [400, 'inputs[0].data'],
      ],
    );
    assert.match(answers[0]?.body.error, /^body must be JSON/);
    assert.match(answers[2]?.body.error, /inputs\[0\]\.shape must be .* got \[1,-64\]/);

    const wrongMethod = await fetch(inferOf(gateway));
    assert.equal(wrongMethod.status, 405);
    await wrongMethod.arrayBuffer();
  });

  test('setReplicas adds a replica that takes traffic, and a removed one finishes its requests', async () => {
    classify2 = await startModelServer({ variant: 'classify-logreg' });
    gateway.setReplicas('classify', [endpointOf(classify), endpointOf(classify2)]);
    assert.ok(
      await waitUntilAsync(async () => gateway.status()[1]?.replicas.every((r) => r.ready) ?? false, 10_000),
      JSON.stringify(gateway.status()),
    );
    const first = await Promise.all(Array.from({ length: 20 }, () => post(inferOf(gateway), { inputs: digits(4) })));
    tally(first, seen);
    assert.deepEqual(
      first.filter((a) => a.status !== 200).map((a) => a.body),
      [],
    );
    const served = gateway.status()[1]?.replicas.map((r) => r.served);
    assert.ok(served?.length === 2 && served.every((n) => n > 0), `requests per classify replica: ${JSON.stringify(served)}`);

    const burst = Array.from({ length: 20 }, () => post(inferOf(gateway), { inputs: digits(4) }));
    // Mid-burst, the first classifier is removed: what it has in flight still finishes.
    await new Promise((resolve) => setTimeout(resolve, 20));
    gateway.setReplicas('classify', [endpointOf(classify2)]);
    const answers = await Promise.all(burst);
    tally(answers, seen);
    assert.deepEqual(
      answers.filter((a) => a.status !== 200).map((a) => a.body),
      [],
    );
    const classifyStatus = gateway.status()[1];
    assert.deepEqual(
      classifyStatus?.replicas.map((r) => r.baseUrl),
      [classify2.url],
      'the removed replica is gone once its requests are done',
    );
    assert.ok((classifyStatus?.replicas[0]?.served ?? 0) > 0, JSON.stringify(classifyStatus));
    const metrics = await metricCounts(gateway);
    assert.match(metrics.text, /^ipa_gateway_stage_replicas\{pipeline="testbed",stage="classify"\} 1$/m);
    assert.match(metrics.text, /^ipa_gateway_stage_variant_replicas\{pipeline="testbed",stage="classify",variant="classify-logreg"\} 1$/m);
  });

  test('a burst past capacity with a tiny drop limit drops some, and every request is counted once', async () => {
    const tight = await PipelineGateway.start({ pipeline: 'testbed', stages, slaMs, dropLimitMs: 15 });
    try {
      tight.setReplicas('reduce', [endpointOf(reduce)]);
      tight.setReplicas('classify', [endpointOf(classify2 as ModelServer)]);
      assert.ok(await waitUntilAsync(async () => tight.ready(), 10_000));
      const answers = await Promise.all(Array.from({ length: 60 }, () => post(inferOf(tight), { inputs: digits(8) })));
      const client: OutcomeCounts = { ok: 0, dropped: 0, error: 0 };
      tally(answers, client);
      assert.ok(client.ok > 0 && client.dropped > 0, JSON.stringify(client));
      assert.equal(client.error, 0, JSON.stringify(answers.filter((a) => a.status !== 200 && a.status !== 503).map((a) => a.body)));
      assert.match(answers.find((a) => a.status === 503)?.body.error, /waited past the drop limit .* \(15 ms\)/);
      const metrics = await metricCounts(tight);
      assert.deepEqual({ ok: metrics.ok, dropped: metrics.dropped, error: metrics.error }, client);
      assert.deepEqual(tight.outcomes(), client);
      // One bucket is the SLA; the histogram counts the ok requests.
      assert.match(metrics.text, /^ipa_gateway_request_duration_seconds_bucket\{le="0.2",pipeline="testbed"\} \d+$/m);
      assert.match(metrics.text, new RegExp(`^ipa_gateway_request_duration_seconds_count\\{pipeline="testbed"\\} ${client.ok}$`, 'm'));
      assert.match(metrics.text, /^ipa_gateway_stage_duration_seconds_count\{pipeline="testbed",stage="reduce"\} \d+$/m);
      assert.match(metrics.text, /^ipa_gateway_stage_queue_length\{pipeline="testbed",stage="classify"\} 0$/m);
    } finally {
      await tight.close();
    }
  });

  test('the drop limit is 1.5 × SLA unless given', async () => {
    const plain = await PipelineGateway.start({ pipeline: 'testbed', stages, slaMs });
    await plain.close();
    assert.equal(plain.dropLimitMs, 300);
    await assert.rejects(PipelineGateway.start({ pipeline: 'testbed', stages: [], slaMs }), /stages must be a non-empty list .* got \[\]/);
    assert.throws(() => gateway.setReplicas('detect', []), /stage "detect" is not a stage of testbed \(reduce, classify\)/);
  });

  test("the main gateway's counters equal what its clients saw", async () => {
    const metrics = await metricCounts(gateway);
    assert.deepEqual({ ok: metrics.ok, dropped: metrics.dropped, error: metrics.error }, seen);
    assert.equal(seen.ok, 41);
    assert.equal(seen.error, 4);
  });
});
