import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { DEMO_WORKFLOW_ID, LIVE_DEMO_WORKFLOW_ID } from '../../src/cli/demo.js';
import { projectRoot } from '../../src/common/paths.js';
import { readReplicas, readServer } from '../../src/live/liveState.js';
import { TASK_QUEUES } from '../../src/temporal/taskQueues.js';
import { findTemporalCli } from '../../src/tooling/cliBinary.js';
import { startDevServer } from '../../src/tooling/devServer.js';
import { decisionsQuery, statusQuery } from '../../src/workflows/messages.js';
import { ping } from '../../src/workflows/ping.js';
import { freePort } from '../helpers/ports.js';
import { groupAlive, isAlive, type Started, startInGroup, waitUntil, waitUntilAsync } from '../helpers/processes.js';

const exec = promisify(execFile);

/**
 * `npm start` as a newcomer runs it: a real dev server on a persistent SQLite file, the Web UI,
 * the worker; Ctrl-C stops everything. Ports and state dir are private to the test.
 */
describe('npm start', () => {
  let stateDir: string;
  let port: number;
  let uiPort: number;
  const started: Started[] = [];

  after(async () => {
    for (const s of started) if (s.child.pid && groupAlive(s.child.pid)) process.kill(-s.child.pid, 'SIGKILL');
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  async function start(...extra: string[]): Promise<{ run: Started; serverPid: number }> {
    const env: NodeJS.ProcessEnv = { ...process.env, IPA_LOG_LEVEL: 'info' };
    delete env.TEMPORAL_ADDRESS;
    const run = startInGroup(
      'npm',
      ['start', '--', '--port', String(port), '--ui-port', String(uiPort), '--state-dir', stateDir, ...extra],
      {
        cwd: projectRoot,
        env,
      },
    );
    started.push(run);
    const ready = await run.waitFor(/"serverPid":(\d+)[^\n]*"msg":"Temporal dev server ready"/, 120_000);
    await run.waitFor(/"msg":"worker polling"/, 60_000);
    assert.match(run.output(), new RegExp(`Temporal Web UI: http://127.0.0.1:${uiPort}`));
    return { run, serverPid: Number(ready[1]) };
  }

  async function withClient<T>(fn: (client: Client, connection: Connection) => Promise<T>): Promise<T> {
    const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
    try {
      return await fn(new Client({ connection }), connection);
    } finally {
      await connection.close();
    }
  }

  async function stopWith(run: Started, serverPid: number, signal: 'SIGINT' | 'SIGTERM', whole: boolean) {
    const pid = run.child.pid as number;
    process.kill(whole ? -pid : pid, signal);
    const code = await run.exited;
    assert.equal(code, 0, `exit code after ${signal}:\n${run.output()}`);
    assert.ok(await waitUntil(() => !groupAlive(pid), 5000), 'processes of the npm start group left behind');
    assert.ok(await waitUntil(() => !isAlive(serverPid), 5000), `Temporal server ${serverPid} left behind`);
  }

  it('serves the UI and the worker, and stops cleanly on Ctrl-C', async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'ipa-start-'));
    port = await freePort();
    uiPort = await freePort();
    const { run, serverPid } = await start();

    const ui = await fetch(`http://127.0.0.1:${uiPort}/`);
    assert.equal(ui.status, 200);

    await withClient(async (client, connection) => {
      const result = await client.workflow.execute(ping, { taskQueue: TASK_QUEUES.adapt, workflowId: 'smoke-ping', args: [{}] });
      assert.equal(result.activityWorker.taskQueue, 'ipa-adapt');
      const attributes = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      assert.ok(attributes.customAttributes && 'IpaPipeline' in attributes.customAttributes);
      assert.ok('IpaSlaMs' in attributes.customAttributes);

      // The live demo: decisions of the testbed pipeline change real replicas within two minutes.
      const demo = client.workflow.getHandle(LIVE_DEMO_WORKFLOW_ID);
      const steps = () =>
        demo.query(statusQuery).then(
          (s) => s.step,
          () => 0,
        );
      assert.ok(await waitUntilAsync(async () => (await steps()) >= 1, 120_000), `no demo decision within two minutes:\n${run.output()}`);
      const [first] = await demo.query(decisionsQuery, { limit: 1 });
      assert.equal(first?.pipeline, 'testbed');
      assert.equal(first?.apply?.actuator, 'local');
      assert.match(run.output(), /Live pipeline: POST http:\/\/127\.0\.0\.1:\d+\/v2\/models\/testbed\/infer/);
    });
    assert.ok((await stat(join(stateDir, 'temporal.db'))).size > 0);
    // What the live demo runs outside the npm group: after Ctrl-C none of it may be left.
    const live = join(stateDir, 'live');
    const replicas = (await readReplicas('testbed', live)).replicas.map((r) => r.process.pid);
    const servers = await Promise.all([readServer('testbed', 'gateway', live), readServer('testbed', 'prometheus', live)]);
    const livePids = [...replicas, ...servers.map((s) => s?.process.pid as number)];
    assert.ok(replicas.length >= 2, 'the demo runs replicas');

    await stopWith(run, serverPid, 'SIGINT', true);
    for (const pid of livePids) assert.ok(await waitUntil(() => !groupAlive(pid), 10_000), `live demo process ${pid} left behind`);
  });

  it('reuses the SQLite state on a second start and stops on SIGTERM', async () => {
    const { run, serverPid } = await start('--demo', 'simulated');
    assert.doesNotMatch(run.output(), /registered search attributes/);
    await run.waitFor(/demo started: video/, 30_000);
    await withClient(async (client) => {
      const description = await client.workflow.getHandle('smoke-ping').describe();
      assert.equal(description.status.name, 'COMPLETED');
      const live = await client.workflow.getHandle(LIVE_DEMO_WORKFLOW_ID).describe();
      assert.equal(live.status.name, 'CANCELLED', 'the live demo loop was stopped with the first run');
      const demo = client.workflow.getHandle(DEMO_WORKFLOW_ID);
      assert.ok(
        await waitUntilAsync(
          async () =>
            (await demo.query(statusQuery).then(
              (s) => s.step,
              () => 0,
            )) >= 1,
          60_000,
        ),
      );
      assert.equal((await demo.query(decisionsQuery, { limit: 1 }))[0]?.apply?.actuator, 'simulated');
    });
    await stopWith(run, serverPid, 'SIGTERM', false);
  });
});

describe('a second ipa dev on the same state dir', () => {
  it('leaves a live server alone, attaches a worker when asked, and takes over only once the owner is gone', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'ipa-crash-'));
    const port = await freePort();
    const uiPort = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, IPA_METRICS_PORT: '0' };
    delete env.TEMPORAL_ADDRESS;
    const args = ['bin/ipa.js', 'dev', '--port', String(port), '--ui-port', String(uiPort), '--state-dir', stateDir, '--no-demo'];
    const runs: Started[] = [];
    const start = (...extra: string[]) => {
      const run = startInGroup(process.execPath, [...args, ...extra], { cwd: projectRoot, env });
      runs.push(run);
      return run;
    };
    const pingThrough = async (id: string) => {
      const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
      try {
        const client = new Client({ connection });
        return await client.workflow.execute(ping, { taskQueue: TASK_QUEUES.adapt, workflowId: id, args: [{}] });
      } finally {
        await connection.close();
      }
    };
    try {
      const first = start();
      const server = Number((await first.waitFor(/"serverPid":(\d+)/, 120_000))[1]);
      await first.waitFor(/"msg":"worker polling"/, 60_000);

      // Same ports, same state dir, its owner alive: refused in one line, nothing touched.
      const second = start();
      assert.notEqual(await second.exited, 0, second.output());
      const lines = second.output().trim().split('\n');
      assert.equal(lines.length, 1, second.output());
      assert.match(
        lines[0] ?? '',
        new RegExp(
          `^ipa: a Temporal dev server already runs on ${stateDir}: 127\\.0\\.0\\.1:${port}, Web UI http://127\\.0\\.0\\.1:${uiPort}, owned by ipa dev pid ${first.child.pid}; .*--attach`,
        ),
      );
      assert.doesNotMatch(second.output(), /left behind|stopping/);
      assert.ok(isAlive(server) && !first.hasExited(), `the first ipa dev lost its server:\n${first.output()}`);
      assert.equal((await pingThrough('after-second')).workflowQueue, 'ipa-adapt');

      // --attach runs a worker against the owner's server and leaves it running on exit.
      const attached = start('--attach');
      await attached.waitFor(/attaching to the running dev server/, 60_000);
      await attached.waitFor(/"msg":"worker polling"/, 60_000);
      process.kill(attached.child.pid as number, 'SIGINT');
      assert.equal(await attached.exited, 0, attached.output());
      assert.ok(isAlive(server) && !first.hasExited(), 'an attached ipa dev stopped the server it did not start');
      assert.equal((await pingThrough('after-attach')).workflowQueue, 'ipa-adapt');

      // The owner SIGKILLed: its server is left behind, and the next ipa dev stops it and starts afresh.
      process.kill(first.child.pid as number, 'SIGKILL');
      await first.exited;
      assert.ok(isAlive(server), 'the server outlives a SIGKILLed ipa dev (it is what this test is about)');
      const next = start();
      await next.waitFor(/left behind by an earlier run/, 60_000);
      assert.doesNotMatch(next.output(), /"pid":\d+,[^\n]*"pid":/, 'a log line with the pid key twice');
      const fresh = Number((await next.waitFor(/"serverPid":(\d+)[^\n]*"msg":"Temporal dev server ready"/, 120_000))[1]);
      await next.waitFor(/"msg":"worker polling"/, 60_000);
      assert.notEqual(fresh, server);
      assert.ok(!isAlive(server), `orphan server ${server} still running`);
      assert.doesNotMatch(next.output(), /demo/, '--no-demo starts no demo');
      process.kill(next.child.pid as number, 'SIGINT');
      assert.equal(await next.exited, 0, next.output());
      assert.ok(await waitUntil(() => !isAlive(fresh), 5000));
    } finally {
      for (const run of runs) if (run.child.pid && groupAlive(run.child.pid)) process.kill(-run.child.pid, 'SIGKILL');
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});

describe('ipa dev with TEMPORAL_ADDRESS', () => {
  it('starts no server, only the worker, which serves workflows started with the temporal CLI', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'ipa-remote-'));
    const binary = await findTemporalCli();
    const server = await startDevServer({ binary, stateDir, port: await freePort(), headless: true });
    const env: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: 'default' };
    const run = startInGroup(process.execPath, ['bin/ipa.js', 'dev', '--state-dir', join(stateDir, 'unused')], { cwd: projectRoot, env });
    try {
      await run.waitFor(/"msg":"worker polling"/, 60_000);
      assert.match(run.output(), /TEMPORAL_ADDRESS is set: using that server/);
      assert.doesNotMatch(run.output(), /Temporal dev server ready/);
      const { stdout } = await exec(
        binary,
        ['workflow', 'execute', '--address', server.address, '--type', 'ping', '--task-queue', 'ipa-adapt', '--input', '{}', '-o', 'json'],
        { timeout: 30_000 },
      );
      assert.match(stdout, /"taskQueue": "ipa-adapt"/);
      process.kill(run.child.pid as number, 'SIGINT');
      assert.equal(await run.exited, 0, run.output());
      assert.ok(isAlive(server.pid), 'a server ipa did not start must survive its shutdown');
    } finally {
      if (run.child.pid && groupAlive(run.child.pid)) process.kill(-run.child.pid, 'SIGKILL');
      await server.stop();
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
