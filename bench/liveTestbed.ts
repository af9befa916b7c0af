import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalActuator } from '../src/actuators/local.js';
import { type RunningGateway, startGatewayProcess } from '../src/live/gatewayProcess.js';
import { processRef, writeServer } from '../src/live/liveState.js';

/** The live testbed pipeline of a benchmark: a gateway in this process following the local actuator's replicas. */
export interface LiveTestbed {
  gateway: RunningGateway;
  actuator: LocalActuator;
  /** Releases the replicas, closes the gateway, removes the state folder. */
  close(): Promise<void>;
}

export async function startLiveTestbed(): Promise<LiveTestbed> {
  const stateDir = await mkdtemp(join(tmpdir(), 'ipa-bench-live-'));
  const gateway = await startGatewayProcess({ pipeline: 'testbed', stateDir, pollMs: 50 });
  await writeServer(
    'testbed',
    'gateway',
    { url: gateway.url, process: await processRef(process.pid), startedAt: new Date().toISOString(), logFile: '' },
    stateDir,
  );
  const actuator = new LocalActuator({ kind: 'local', stateDir, readyTimeoutSeconds: 120, drainTimeoutSeconds: 30 });
  return {
    gateway,
    actuator,
    async close() {
      try {
        await actuator.release('testbed');
      } finally {
        await gateway.close();
        await rm(stateDir, { recursive: true, force: true });
      }
    },
  };
}
