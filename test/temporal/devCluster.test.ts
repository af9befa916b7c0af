import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { projectRoot } from '../../src/common/paths.js';
import type { DecisionRecord } from '../../src/model/decisionRecord.js';
import { portIsFree } from '../../src/tooling/freePort.js';
import { ipaWithEnv } from '../helpers/ipa.js';
import { freePort } from '../helpers/ports.js';
import { groupAlive, type Started, startInGroup, waitUntil, waitUntilAsync } from '../helpers/processes.js';

/**
 * `ipa dev --server cluster`: the production-shaped Temporal server (temporal-server on
 * PostgreSQL, mTLS) that `ipa setup` builds, started and stopped as `npm start` does the dev
 * server, its state kept in --state-dir from one start to the next. Clients reach it only with the
 * settings it writes to env.sh.
 */
describe('ipa dev --server cluster', () => {
  let stateDir: string;
  const started: Started[] = [];

  after(async () => {
    for (const s of started) if (s.child.pid && groupAlive(s.child.pid)) process.kill(-s.child.pid, 'SIGKILL');
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  function launch(port: number): Started {
    const env: NodeJS.ProcessEnv = { ...process.env, IPA_LOG_LEVEL: 'info' };
    delete env.TEMPORAL_ADDRESS;
    const run = startInGroup(
      process.execPath,
      ['bin/ipa.js', 'dev', '--server', 'cluster', '--no-demo', '--no-metrics', '--port', String(port), '--state-dir', stateDir],
      { cwd: projectRoot, env },
    );
    started.push(run);
    return run;
  }

  async function start(port: number): Promise<Started> {
    const run = launch(port);
    await run.waitFor(/"msg":"Temporal cluster ready"/, 180_000);
    await run.waitFor(/"msg":"worker polling"/, 60_000);
    return run;
  }

  /** The settings `ipa dev` printed for other shells, read as a shell would. */
  async function clusterEnv(): Promise<Record<string, string>> {
    const text = await readFile(join(stateDir, 'cluster', 'env.sh'), 'utf8');
    return Object.fromEntries([...text.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1] as string, m[2] as string]));
  }

  async function decisions(env: Record<string, string>, workflowId: string): Promise<DecisionRecord[]> {
    const out = await ipaWithEnv(env, 'adapt', 'decisions', '--workflow-id', workflowId, '--json');
    assert.equal(out.code, 0, out.stderr);
    return JSON.parse(out.stdout) as DecisionRecord[];
  }

  /** Ctrl-C: exit 0, and the server and PostgreSQL gone with the worker (their ports free again). */
  async function interrupt(run: Started): Promise<void> {
    const pid = run.child.pid as number;
    process.kill(pid, 'SIGINT');
    assert.equal(await run.exited, 0, `exit code after SIGINT:\n${run.output()}`);
    assert.match(run.output(), /"msg":"Temporal cluster stopped"/);
    assert.ok(await waitUntil(() => !groupAlive(pid), 5000), 'processes of the ipa dev group left behind');
    const state = JSON.parse(await readFile(join(stateDir, 'cluster', 'cluster.json'), 'utf8')) as {
      postgresPort: number;
      ports: Record<string, number>;
    };
    for (const port of [state.postgresPort, ...Object.values(state.ports)]) {
      assert.ok(await portIsFree(port), `port ${port} still held after Ctrl-C`);
    }
  }

  it('serves a loop over mTLS, stops on Ctrl-C, keeps the loop across a restart, and refuses another --port', async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'ipa-dev-cluster-'));
    // mkdtemp's folder is private; PostgreSQL runs as its own user when the tests run as root.
    await chmod(stateDir, 0o755);
    const port = await freePort();
    const first = await start(port);
    assert.match(first.output(), new RegExp(`Temporal cluster \\(temporal-server on PostgreSQL, mTLS\\): 127\\.0\\.0\\.1:${port}`));
    const env = await clusterEnv();
    assert.equal(env.TEMPORAL_ADDRESS, `127.0.0.1:${port}`);
    assert.ok(env.TEMPORAL_TLS_CLIENT_CERT_PATH && env.TEMPORAL_TLS_CLIENT_KEY_PATH, 'env.sh carries the client certificate');

    const without = { ...env, TEMPORAL_TLS_CLIENT_CERT_PATH: '', TEMPORAL_TLS_CLIENT_KEY_PATH: '' };
    const refused = await ipaWithEnv(without, 'ping');
    assert.notEqual(refused.code, 0, 'a client without a certificate is refused');
    assert.match(refused.stderr, /TEMPORAL_TLS_CLIENT_CERT_PATH/);

    const id = 'dev-cluster-video';
    const begun = await ipaWithEnv(env, 'adapt', 'start', '--pipeline', 'video', '--interval', '5', '--workflow-id', id);
    assert.equal(begun.code, 0, begun.stderr);
    assert.ok(await waitUntilAsync(async () => (await decisions(env, id)).length >= 2, 60_000), 'the loop steps on the cluster');
    await interrupt(first);

    const wrong = launch(port + 1);
    assert.notEqual(await wrong.exited, 0);
    assert.match(wrong.output(), new RegExp(`--port: the cluster in \\S+ serves on ${port}, got ${port + 1}`));

    const second = await start(port);
    const kept = (await decisions(env, id)).length;
    assert.ok(kept >= 2, `the loop's decisions kept across the restart (${kept})`);
    assert.ok(await waitUntilAsync(async () => (await decisions(env, id)).length > kept, 60_000), 'the loop steps again after the restart');
    const steps = (await decisions(env, id)).map((d) => d.step);
    assert.deepEqual(
      steps,
      steps.map((_, i) => i + 1),
      'each step recorded once, in order',
    );
    const stopped = await ipaWithEnv(env, 'adapt', 'stop', id);
    assert.equal(stopped.code, 0, stopped.stderr);
    await interrupt(second);
  });
});
