import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type GatewayProcessStatus, type RunningGateway, startGatewayProcess } from '../../src/live/gatewayProcess.js';
import { GATEWAY_LOAD_QUERY } from '../../src/live/livePrometheus.js';
import { type LiveServer, processRef, type ReplicaRecord, readReplicas, writeReplicas } from '../../src/live/liveState.js';
import { type ModelServer, startModelServer } from '../../src/profiling/testbed.js';
import { groupAlive, isAlive, stopGroup } from '../../src/tooling/processGroup.js';
import { ipa, ipaWithEnv } from '../helpers/ipa.js';
import { waitUntilAsync } from '../helpers/processes.js';

interface Status {
  pipeline: string;
  gateway: (LiveServer & { up: boolean; routesVersion?: number; ready?: boolean }) | null;
  prometheus: (LiveServer & { up: boolean }) | null;
  replicas: { stage: string; routed: boolean; alive: boolean }[];
}

async function promQuery(url: string, query: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await response.json()) as { data?: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  return body.data?.result ?? [];
}

describe('ipa live up / status / down', { timeout: 180_000 }, () => {
  let stateDir: string;
  const pids: number[] = [];

  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'ipa-live-'));
  });

  after(async () => {
    // Whatever a failed test left: stop the groups it recorded, never anything else.
    for (const pid of pids) if (groupAlive(pid)) await stopGroup(pid, 5_000);
    await rm(stateDir, { recursive: true, force: true });
  });

  const live = (...args: string[]) => ipa('live', ...args, '--state-dir', stateDir);
  const status = async (): Promise<Status> => {
    const r = await live('status', '--pipeline', 'testbed', '--json');
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Status;
  };

  test('up starts the gateway, a Prometheus that scrapes it and the first replicas, and prints the loop command', async () => {
    const r = await live('up', '--pipeline', 'testbed', '--initial-rps', '5');
    const s = await status();
    if (s.gateway) pids.push(s.gateway.process.pid);
    if (s.prometheus) pids.push(s.prometheus.process.pid);
    for (const replica of (await readReplicas('testbed', stateDir)).replicas) pids.push(replica.process.pid);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(s.gateway?.up && s.prometheus?.up, JSON.stringify(s));
    // The optimizer's config for 5 requests/s: a replica or more per stage, routed by the gateway.
    assert.deepEqual([...new Set(s.replicas.map((x) => x.stage))].sort(), ['classify', 'reduce']);
    assert.ok(s.replicas.every((x) => x.routed && x.alive));
    assert.match(r.stdout, /replicas: +reduce .* for 5 rps/);
    assert.ok((s.gateway.routesVersion ?? 0) >= 1);
    assert.ok(
      await waitUntilAsync(async () => (await status()).gateway?.ready === true, 30_000),
      'the gateway is ready on the first replicas',
    );
    assert.ok(r.stdout.includes(`POST ${s.gateway.url}/v2/models/testbed/infer`), r.stdout);
    assert.ok(r.stdout.includes(`${s.gateway.url}/metrics`), r.stdout);
    assert.ok(
      r.stdout.includes(
        `adapt start --pipeline testbed --actuator local --state-dir ${stateDir} --observe prometheus --prometheus-url ${s.prometheus.url} --query '${GATEWAY_LOAD_QUERY}'`,
      ),
      r.stdout,
    );

    const prometheus = s.prometheus.url;
    assert.ok(
      await waitUntilAsync(async () => (await promQuery(prometheus, 'up{job="ipa-gateway"}'))[0]?.value[1] === '1', 15_000, 500),
      `Prometheus does not scrape the gateway: ${JSON.stringify(await promQuery(prometheus, 'up'))}`,
    );
    const counters = await promQuery(prometheus, 'ipa_gateway_requests_total{pipeline="testbed"}');
    assert.deepEqual(counters.map((c) => c.metric.outcome).sort(), ['dropped', 'error', 'ok']);
    // The loop's query answers (one series, 0 requests/s while nothing comes in).
    assert.ok(
      await waitUntilAsync(
        async () => (await promQuery(prometheus, GATEWAY_LOAD_QUERY.replace('$pipeline', 'testbed'))).length === 1,
        10_000,
        500,
      ),
    );
  });

  test('a second up is refused and changes nothing', async () => {
    const dir = join(stateDir, 'testbed');
    const before = await Promise.all(['gateway.json', 'prometheus.json'].map((f) => readFile(join(dir, f), 'utf8')));
    const r = await live('up', '--pipeline', 'testbed');
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /testbed is already up: gateway http:\/\/127\.0\.0\.1:\d+ \(pid \d+\), Prometheus .*live down --pipeline testbed.* first/,
    );
    const afterwards = await Promise.all(['gateway.json', 'prometheus.json'].map((f) => readFile(join(dir, f), 'utf8')));
    assert.deepEqual(afterwards, before);
    const s = await status();
    assert.ok(s.gateway?.up && s.prometheus?.up, JSON.stringify(s));
  });

  test('status prints a readable summary', async () => {
    const r = await live('status', '--pipeline', 'testbed');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^gateway +up +http:\/\/127\.0\.0\.1:\d+ +routes v\d+, ready/m);
    assert.match(r.stdout, /^Prometheus +up +http:\/\/127\.0\.0\.1:\d+$/m);
    assert.match(r.stdout, /^replicas +version \d+, decision live-up-/m);
    assert.match(r.stdout, /^reduce +reduce-\S+ +cpu-\S+ +\d+ +http:\/\/127\.0\.0\.1:\d+ +yes +yes/m);
  });

  test('down stops everything it recorded; a second down exits 0', async () => {
    const s = await status();
    const replicaPids = (await readReplicas('testbed', stateDir)).replicas.map((x) => x.process.pid);
    const recorded = [s.gateway?.process.pid, s.prometheus?.process.pid, ...replicaPids].filter((p): p is number => p !== undefined);
    assert.ok(recorded.length >= 4);
    const r = await live('down', '--pipeline', 'testbed');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /stopped \d+ replica/);
    assert.match(r.stdout, /stopped the gateway/);
    assert.match(r.stdout, /stopped the Prometheus/);
    for (const pid of recorded) assert.ok(!isAlive(pid) && !groupAlive(pid), `process group ${pid} still runs after down`);
    const gone = await status();
    assert.equal(gone.gateway, null);
    assert.equal(gone.prometheus, null);
    assert.deepEqual(gone.replicas, []);
    const again = await live('down', '--pipeline', 'testbed');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /nothing of testbed runs/);
  });

  test('a busy port or a missing testbed: up fails naming it, and nothing it started is left running', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const busy = (blocker.address() as AddressInfo).port;
    try {
      const r = await live('up', '--pipeline', 'testbed', '--port', String(busy));
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`--port: 127\\.0\\.0\\.1:${busy} is taken`));
      const s = await status();
      assert.equal(s.gateway, null);
      assert.equal(s.prometheus, null);
    } finally {
      blocker.close();
    }
    // Python that cannot run: the testbed cannot be set up, so no first replicas; gateway and Prometheus are stopped again.
    const missing = await ipaWithEnv(
      { ...process.env, IPA_PYTHON: '/nonexistent/python3' },
      'live',
      'up',
      '--pipeline',
      'testbed',
      '--state-dir',
      stateDir,
    );
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nothing it started is left running: the local testbed .* is missing .*\/nonexistent\/python3/s);
    const s = await status();
    assert.equal(s.gateway, null);
    assert.equal(s.prometheus, null);
    assert.deepEqual(s.replicas, []);
  });

  test('up of an unknown pipeline names --pipeline and the value', async () => {
    const r = await live('up', '--pipeline', 'nosuch');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--pipeline: no pipeline "nosuch" in .* \(known: .*testbed.*\)/);
  });
});

/** Two 8×8 digits, pixel values 0–16 as in load_digits. */
function digits(): { name: string; datatype: string; shape: number[]; data: number[] }[] {
  const bar = Array.from({ length: 64 }, (_, i) => (i % 8 === 4 ? 16 : 0));
  return [{ name: 'input-0', datatype: 'FP32', shape: [2, 64], data: [...bar, ...bar] }];
}

// Real MLServer replicas of the testbed (about a minute cold).
describe('the gateway process routes by replicas.json', { timeout: 300_000 }, () => {
  let stateDir: string;
  let reduce: ModelServer;
  let classify: ModelServer;
  let classify2: ModelServer;
  let running: RunningGateway;

  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'ipa-live-gateway-'));
    [reduce, classify, classify2] = await Promise.all([
      startModelServer({ variant: 'reduce-pca8' }),
      startModelServer({ variant: 'classify-logreg' }),
      startModelServer({ variant: 'classify-logreg' }),
    ]);
    running = await startGatewayProcess({ pipeline: 'testbed', stateDir });
  });

  after(async () => {
    await running?.close();
    await Promise.all([reduce, classify, classify2].filter(Boolean).map((s) => s.stop()));
    await rm(stateDir, { recursive: true, force: true });
  });

  const record = async (stage: string, server: ModelServer, routed: boolean): Promise<ReplicaRecord> => ({
    id: `${stage}-${server.model}-${new URL(server.url).port}`,
    stage,
    variant: server.model,
    shape: 'cpu-1',
    batch: 1,
    maxBatchWaitMs: 0,
    url: server.url,
    model: server.model,
    process: await processRef(server.pgid),
    workDir: stateDir,
    decisionId: 'test',
    routed,
  });
  const ipaStatus = async (): Promise<GatewayProcessStatus> =>
    (await (await fetch(`${running.url}/ipa/status`)).json()) as GatewayProcessStatus;
  const infer = async (): Promise<{ status: number; body: any }> => {
    const response = await fetch(`${running.url}/v2/models/testbed/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: digits() }),
    });
    return { status: response.status, body: await response.json() };
  };

  test('routes by the replica set written, and reports its version on /ipa/status', async () => {
    const initial = await ipaStatus();
    assert.equal(initial.pipeline, 'testbed');
    assert.equal(initial.routesVersion, 0);
    assert.equal(initial.ready, false);

    const written = await writeReplicas(
      { pipeline: 'testbed', replicas: [await record('reduce', reduce, true), await record('classify', classify, true)] },
      stateDir,
    );
    assert.ok(
      await waitUntilAsync(async () => {
        const s = await ipaStatus();
        return s.routesVersion === written.version && s.ready;
      }, 15_000),
      JSON.stringify(await ipaStatus()),
    );
    const answer = await infer();
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.outputs[0].name, 'predict');
    assert.equal((await ipaStatus()).outcomes.ok, 1);
  });

  test('a new version takes a replica out of routing and adds another; requests still succeed', async () => {
    const before = (await ipaStatus()).routesVersion;
    const written = await writeReplicas(
      {
        pipeline: 'testbed',
        replicas: [
          await record('reduce', reduce, true),
          await record('classify', classify, false),
          await record('classify', classify2, true),
        ],
      },
      stateDir,
    );
    assert.ok(written.version > before);
    assert.ok(
      await waitUntilAsync(async () => {
        const s = await ipaStatus();
        const replicas = s.stages.find((x) => x.stage === 'classify')?.replicas ?? [];
        // The drained replica had nothing in flight, so it is gone at once.
        return s.routesVersion === written.version && replicas.length === 1 && replicas[0]?.baseUrl === classify2.url && replicas[0].ready;
      }, 15_000),
      JSON.stringify(await ipaStatus()),
    );
    const answers = await Promise.all(Array.from({ length: 6 }, () => infer()));
    assert.deepEqual(
      answers.filter((a) => a.status !== 200).map((a) => a.body),
      [],
    );
    const s = await ipaStatus();
    assert.equal(s.stages.find((x) => x.stage === 'classify')?.replicas[0]?.served, 6);
    assert.deepEqual(s.outcomes, { ok: 7, dropped: 0, error: 0 });
  });

  test('a replica set the gateway cannot take is reported, and the routes stay', async () => {
    const before = (await ipaStatus()).routesVersion;
    const bad = await writeReplicas({ pipeline: 'testbed', replicas: [{ ...(await record('detect', reduce, true)) }] }, stateDir);
    assert.ok(await waitUntilAsync(async () => (await ipaStatus()).routesError !== undefined, 5_000), JSON.stringify(await ipaStatus()));
    const s = await ipaStatus();
    assert.equal(s.routesVersion, before);
    assert.match(s.routesError ?? '', new RegExp(`version ${bad.version} not applied: .*stage "detect" is not a stage of testbed`));
    assert.equal((await infer()).status, 200);
  });
});
