import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { projectRoot } from '../../src/common/paths.js';
import type { DecisionRecord } from '../../src/model/decisionRecord.js';
import { readDecisions } from '../../src/temporal/decisionHistory.js';
import { TASK_QUEUES } from '../../src/temporal/taskQueues.js';
import { findTemporalCli } from '../../src/tooling/cliBinary.js';
import { type DevServer, startDevServer } from '../../src/tooling/devServer.js';
import { adaptPipeline } from '../../src/workflows/adaptPipeline.js';
import { statusQuery } from '../../src/workflows/messages.js';
import { freePort } from '../helpers/ports.js';
import { groupAlive, type Started, startInGroup, waitUntilAsync } from '../helpers/processes.js';

/** A worker in its own process, as in production, so it can be SIGKILLed mid-step. */
function startWorker(address: string): Started {
  return startInGroup(process.execPath, ['bin/ipa.js', 'worker', '--queues', 'adapt', '--no-metrics'], {
    cwd: projectRoot,
    env: { ...process.env, TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: 'default' },
  });
}

function killGroup(run: Started | undefined): void {
  if (run?.child.pid && groupAlive(run.child.pid)) process.kill(-run.child.pid, 'SIGKILL');
}

describe('adaptPipeline crash safety (dev server on SQLite, worker in its own process)', () => {
  it('continues after the worker is SIGKILLed and after the server restarts, losing and repeating no step', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'ipa-crash-'));
    const log = join(stateDir, 'dry-run.jsonl');
    const binary = await findTemporalCli();
    const port = await freePort();
    let server: DevServer | undefined = await startDevServer({ binary, stateDir, port, headless: true });
    let worker: Started | undefined = startWorker(server.address);
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address: server.address });
      const client = new Client({ connection });
      const handle = await client.workflow.start(adaptPipeline, {
        taskQueue: TASK_QUEUES.adapt,
        workflowId: 'adapt-crash',
        args: [
          {
            pipeline: 'video',
            intervalSeconds: 1,
            // A load that changes every step, so every step applies a new config.
            observe: { kind: 'trace', loads: Array.from({ length: 2000 }, (_, t) => 20 + ((t * 7) % 400)), start: 150, speed: 15 },
            actuator: { kind: 'dry-run', log },
          },
        ],
      });
      const stepAtLeast = async (n: number, timeoutMs: number, query: () => Promise<number>) => {
        let seen = 0;
        const ok = await waitUntilAsync(async () => {
          seen = await query().catch(() => seen);
          return seen >= n;
        }, timeoutMs);
        assert.ok(ok, `expected step ${n}, saw ${seen}`);
        return seen;
      };
      const step = () => handle.query(statusQuery).then((s) => s.step);

      await stepAtLeast(4, 60_000, step);
      killGroup(worker);
      await worker.exited;
      const atKill = await readDecisions(client, 'adapt-crash');
      worker = startWorker(server.address);
      await stepAtLeast(atKill.length + 4, 60_000, step);

      // The server goes down and comes back on the same SQLite file and port.
      await connection.close();
      connection = undefined;
      await server.stop();
      server = undefined;
      server = await startDevServer({ binary, stateDir, port, headless: true });
      connection = await Connection.connect({ address: server.address });
      const again = new Client({ connection });
      const beforeRestart = (await readDecisions(again, 'adapt-crash')).length;
      await stepAtLeast(beforeRestart + 4, 90_000, () =>
        again.workflow
          .getHandle('adapt-crash')
          .query(statusQuery)
          .then((s) => s.step),
      );

      const records = await readDecisions(again, 'adapt-crash');
      const ids = records.map((r) => r.step);
      assert.deepEqual(
        ids,
        ids.map((_, i) => i + 1),
        'decision steps strictly increase by one: none lost, none repeated',
      );
      const lines = (await readFile(log, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { decisionId: string }).decisionId);
      assert.equal(new Set(lines).size, lines.length, `the dry-run log has no duplicate: ${lines.join(', ')}`);
      const applied = records.filter((r: DecisionRecord) => r.outcome === 'applied').map((r) => r.id);
      assert.deepEqual(lines, applied.slice(0, lines.length), 'the log holds the applied decisions in order');
      assert.ok(applied.length - lines.length <= 1, 'at most the step in flight is not logged yet');
      await again.workflow.getHandle('adapt-crash').terminate('test done');
    } finally {
      killGroup(worker);
      await connection?.close();
      await server?.stop();
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
