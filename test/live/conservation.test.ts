import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ReplayProgress, type ReplayRecord, replayLoad } from '../../src/live/loadReplay.js';
import { PipelineGateway, type ReplicaEndpoint } from '../../src/live/pipelineGateway.js';
import { type ModelServer, startModelServer } from '../../src/profiling/testbed.js';
import { waitGroupGone } from '../../src/tooling/processGroup.js';
import { waitUntil } from '../helpers/processes.js';

const endpointOf = (server: ModelServer, maxInFlight = 1): ReplicaEndpoint => ({ baseUrl: server.url, model: server.model, maxInFlight });

/**
 * Conservation of requests on the real thing: the replay sends IPA's bursty pattern to a gateway
 * over real MLServer replicas (one reduce-pca8, two classify-logreg). A drop limit far below the
 * bursts' queueing forces drops; one classifier is killed (SIGKILL, mid-request) during the run,
 * so what it had in flight fails and the gateway answers 502. Every request the generator sent
 * must be in exactly one of ok, dropped, error, and the gateway's counters must have moved by
 * exactly those counts.
 */
describe('load replay conservation through the gateway on MLServer replicas', { timeout: 300_000 }, () => {
  let reduce: ModelServer;
  let classify: ModelServer;
  let doomed: ModelServer;
  let gateway: PipelineGateway;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ipa-conservation-'));
    [reduce, classify, doomed] = await Promise.all([
      startModelServer({ variant: 'reduce-pca8' }),
      startModelServer({ variant: 'classify-logreg' }),
      startModelServer({ variant: 'classify-logreg' }),
    ]);
    gateway = await PipelineGateway.start({ pipeline: 'testbed', stages: ['reduce', 'classify'], slaMs: 200, dropLimitMs: 25 });
    gateway.setReplicas('reduce', [endpointOf(reduce, 2)]);
    gateway.setReplicas('classify', [endpointOf(classify, 1), endpointOf(doomed, 4)]);
    assert.ok(
      await waitUntil(() => gateway.status().every((s) => s.replicas.every((r) => r.ready)), 20_000),
      JSON.stringify(gateway.status()),
    );
  });

  after(async () => {
    await gateway?.close();
    const servers = [reduce, classify, doomed].filter((s): s is ModelServer => s !== undefined);
    await Promise.all(servers.map((s) => s.stop()));
    for (const s of servers) assert.ok(await waitGroupGone(s.pgid, 5000), `model server ${s.model} (pgid ${s.pgid}) is still running`);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('sent = ok + dropped + error, and the gateway counted exactly the same per outcome', async () => {
    const out = join(dir, 'requests.jsonl');
    const progress: ReplayProgress[] = [];
    let killedWithInFlight = 0;
    // Some seconds into the run, the doomed classifier dies while it holds requests.
    const killer = (async () => {
      await waitUntil(() => (progress.at(-1)?.elapsedMs ?? 0) >= 3000, 60_000);
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const replica = gateway.status()[1]?.replicas.find((r) => r.baseUrl === doomed.url);
        if ((replica?.inFlight ?? 0) > 0) {
          killedWithInFlight = replica?.inFlight ?? 0;
          process.kill(-doomed.pgid, 'SIGKILL');
          return;
        }
        await sleep(1);
      }
    })();
    const before = gateway.outcomes();
    const summary = await replayLoad({
      pipeline: 'testbed',
      url: gateway.url,
      source: { pattern: 'bursty' },
      scale: { peakRps: 60 },
      seconds: 8,
      arrivals: 'bursts',
      seed: 7,
      slaMs: 200,
      timeoutMs: 20_000,
      checkGateway: true,
      intervalSeconds: 2,
      out,
      onProgress: (p) => progress.push(p),
    });
    await killer;
    const afterRun = gateway.outcomes();

    assert.ok(killedWithInFlight > 0, 'the doomed replica was never seen with a request in flight');
    assert.equal(summary.aborted, false);
    assert.equal(summary.sent, summary.planned);
    assert.equal(summary.sent, summary.ok + summary.dropped + summary.errors);
    assert.equal(summary.accounted, true);
    // Each outcome we forced happened.
    assert.ok(summary.ok > 0, JSON.stringify(summary));
    assert.ok(summary.dropped > 0, `no drops: ${JSON.stringify(summary)}`);
    assert.ok(summary.errors > 0, `no errors after the kill: ${JSON.stringify(summary)}`);
    assert.equal(summary.timeouts, 0);
    assert.ok(
      summary.errorSamples.some((e) => /^HTTP 502: .*stage classify replica/.test(e)),
      JSON.stringify(summary.errorSamples),
    );
    // The gateway's counters, by /metrics and in process, moved by exactly the generator's counts.
    const check = summary.gateway;
    assert.ok(check, 'no gateway check');
    assert.deepEqual(check.delta, { ok: summary.ok, dropped: summary.dropped, error: summary.errors });
    assert.equal(check.matches, true);
    assert.deepEqual(
      { ok: afterRun.ok - before.ok, dropped: afterRun.dropped - before.dropped, error: afterRun.error - before.error },
      check.delta,
    );
    // One line per request, each index once, outcomes as counted.
    const lines = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ReplayRecord);
    assert.equal(lines.length, summary.sent);
    assert.deepEqual(
      lines.map((l) => l.i).sort((a, b) => a - b),
      Array.from({ length: summary.sent }, (_, i) => i),
    );
    const byOutcome = { ok: 0, dropped: 0, error: 0 };
    for (const line of lines) byOutcome[line.outcome]++;
    assert.deepEqual(byOutcome, check.generator);
    assert.ok(lines.filter((l) => l.outcome === 'dropped').every((l) => l.status === 503));
    assert.ok(lines.filter((l) => l.outcome === 'ok').every((l) => l.status === 200 && l.latencyMs > 0));
    assert.equal(
      summary.intervals?.reduce((n, i) => n + i.sent, 0),
      summary.sent,
    );
    assert.ok(progress.length >= 8, `${progress.length} progress calls`);
    assert.deepEqual(progress.at(-1)?.sent, summary.sent);
  });
});
