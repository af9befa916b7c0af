import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServerProcess } from '../../src/profiling/serverProcess.js';
import { ensureTestbed, PORT_TAKEN } from '../../src/profiling/testbed.js';
import { cpuLimitUnavailable, type StartPriority } from '../../src/tooling/cpuLimit.js';
import { freePort } from '../helpers/ports.js';

// Real cgroups, so root on Linux; where there are none a server starts as it always did, without a group.
const noCgroups = await cpuLimitUnavailable();

/** A server that answers OIP v2 ready once the file `gate` exists: the test decides when its start ends. */
const gatedServer = `
const http = require('node:http');
const fs = require('node:fs');
const [port, gate] = process.argv.slice(1);
http.createServer((req, res) => { res.statusCode = fs.existsSync(gate) ? 200 : 503; res.end('{}'); }).listen(Number(port), '127.0.0.1');
`;

/** The cgroup folder `ipa/NAME` of whichever cpu controller the host has (cpuLimit.ts prefers v1's). */
function groupDir(name: string): { dir: string; weight: string; quota: string } {
  if (existsSync('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')) {
    return { dir: join('/sys/fs/cgroup/cpu/ipa', name), weight: 'cpu.shares', quota: 'cpu.cfs_quota_us' };
  }
  return { dir: join('/sys/fs/cgroup/ipa', name), weight: 'cpu.weight', quota: 'cpu.max' };
}

const read = async (file: string) => (await readFile(file, 'utf8')).trim();

describe('a model server starting beside servers that serve', { skip: noCgroups, timeout: 60_000 }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ipa-server-process-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * Starts the gated server; returns its group's weight while starting (after `openAfterMs`, when
   * given, the gate opens), and once ready its weight and quota.
   */
  async function start(
    name: string,
    options: { cpuLimit?: number; startPriority?: StartPriority; starvedAfterMs?: number },
    openAfterMs = 0,
  ) {
    const port = await freePort();
    const gate = join(dir, `${name}.ready`);
    const starting = startServerProcess({
      command: [process.execPath, '-e', gatedServer, String(port), gate],
      endpoint: { baseUrl: `http://127.0.0.1:${port}`, model: 'm' },
      limitName: name,
      cwd: dir,
      env: process.env,
      readyTimeoutMs: 30_000,
      ...options,
    });
    const group = groupDir(name);
    // The group exists, with the server in it, before the server can be ready.
    const deadline = Date.now() + 10_000;
    while (!existsSync(join(group.dir, 'cgroup.procs')) || (await read(join(group.dir, 'cgroup.procs'))) === '') {
      assert.ok(Date.now() < deadline, `no process in ${group.dir} within 10 s`);
      await sleep(20);
    }
    const weightStarting = await read(join(group.dir, group.weight));
    await sleep(openAfterMs);
    const weightLater = await read(join(group.dir, group.weight));
    const quotaLater = await read(join(group.dir, group.quota));
    await writeFile(gate, '');
    const started = await starting;
    assert.ok(started.ready, 'the server answered ready');
    const ready = { weight: await read(join(group.dir, group.weight)), quota: await read(join(group.dir, group.quota)) };
    await started.stop();
    assert.equal(existsSync(group.dir), false, 'stop() removes the group');
    return { weightStarting, weightLater, quotaLater, ready, group };
  }

  const normal = (weightFile: string) => (weightFile === 'cpu.shares' ? '1024' : '100');
  const lowest = (weightFile: string) => (weightFile === 'cpu.shares' ? '2' : '1');

  test('a CPU-limited server starts unlimited at the lowest weight, and serves at the normal weight under its quota', async () => {
    const { weightStarting, ready, group } = await start(`test-limited-${process.pid}`, { cpuLimit: 0.25 });
    assert.equal(weightStarting, lowest(group.weight));
    assert.equal(ready.weight, normal(group.weight));
    assert.match(ready.quota, /^2500( 10000)?$/, 'a quarter of the 10-ms period');
  });

  test('a server without a limit (a pinned cpu-N shape) gets a group for its start alone, and no quota', async () => {
    const { weightStarting, ready, group } = await start(`test-pinned-${process.pid}`, {});
    assert.equal(weightStarting, lowest(group.weight));
    assert.equal(ready.weight, normal(group.weight));
    assert.match(ready.quota, /^(-1|max 10000)$/);
  });

  test('a start still not ready after starvedAfterMs gets the normal weight, still without its quota', async () => {
    const { weightStarting, weightLater, quotaLater, ready, group } = await start(
      `test-starved-${process.pid}`,
      { cpuLimit: 0.25, starvedAfterMs: 500 },
      2_000,
    );
    assert.equal(weightStarting, lowest(group.weight));
    assert.equal(weightLater, normal(group.weight), 'lifted while it starts');
    assert.match(quotaLater, /^(-1|max 10000)$/, 'the start-up boost stays');
    assert.match(ready.quota, /^2500( 10000)?$/);
  });

  test('startPriority equal (the earlier behaviour, the benchmark baseline) starts at the normal weight', async () => {
    const { weightStarting, group } = await start(`test-equal-${process.pid}`, { cpuLimit: 0.5, startPriority: 'equal' });
    assert.equal(weightStarting, normal(group.weight));
  });
});

/**
 * MLServer does not exit when its gRPC or metrics port is taken: it logs the bind error and runs
 * on, never ready. A start that waited out the ready timeout (120 s for a replica) is what lost a
 * whole policy run of `ipa live run` in CI; the start must give up on the error itself.
 */
describe('a server that cannot bind a port', { timeout: 120_000 }, () => {
  let dir: string;
  let held: Server;
  let heldPort: number;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ipa-server-stuck-'));
    held = createServer();
    await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
    heldPort = (held.address() as { port: number }).port;
  });
  after(async () => {
    held?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Starts a server with a ready timeout far past the test's own: only giving up on its output ends the start in time. */
  async function startStuck(name: string, command: string[], env: NodeJS.ProcessEnv, port: number) {
    const started = await startServerProcess({
      command,
      endpoint: { baseUrl: `http://127.0.0.1:${port}`, model: name },
      limitName: `test-stuck-${name}-${process.pid}`,
      cwd: dir,
      env,
      logFile: join(dir, `${name}.log`),
      readyTimeoutMs: 600_000,
      stuckOn: PORT_TAKEN,
    });
    assert.equal(started.ready, false, `${name} never answered ready`);
    if (started.ready) throw new Error('unreachable');
    assert.match(started.why, /stopped short of ready/);
    return started;
  }

  test('a server that prints a bind error and runs on is given up on and stopped', async () => {
    const script = `console.error('Error: listen EADDRINUSE: address already in use 127.0.0.1:' + process.argv[1]); setInterval(() => {}, 1000);`;
    const stuck = await startStuck('node', [process.execPath, '-e', script, String(heldPort)], process.env, await freePort());
    assert.match(stuck.output, /address already in use/);
  });

  test('MLServer with its gRPC port taken: the real error, given up on', async () => {
    const bed = await ensureTestbed();
    const variant = 'reduce-pca8';
    const settings = JSON.parse(await readFile(join(bed.modelsDir, variant, 'model-settings.json'), 'utf8'));
    settings.parameters = { ...settings.parameters, uri: join(bed.modelsDir, variant, 'model.joblib') };
    const modelDir = join(dir, 'model');
    await mkdir(modelDir, { recursive: true });
    await writeFile(join(modelDir, 'model-settings.json'), JSON.stringify(settings));
    const port = await freePort();
    const env = {
      ...process.env,
      MLSERVER_HOST: '127.0.0.1',
      MLSERVER_HTTP_PORT: String(port),
      MLSERVER_GRPC_PORT: String(heldPort),
      MLSERVER_METRICS_PORT: String(await freePort()),
      MLSERVER_METRICS_DIR: join(dir, 'metrics'),
      MLSERVER_PARALLEL_WORKERS: '1',
    };
    const stuck = await startStuck(variant, [bed.mlserver, 'start', modelDir], env, port);
    assert.match(stuck.output, new RegExp(`${heldPort}`), 'the output names the taken port');
  });
});
