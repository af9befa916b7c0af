import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { getJson } from '../common/getJson.js';
import { log } from '../common/log.js';
import { pipelinesDir, projectRoot } from '../common/paths.js';
import { table } from '../common/table.js';
import { resolvePipelineSpec } from '../io/load.js';
import type { GatewayProcessStatus } from '../live/gatewayProcess.js';
import { startInitialReplicas, stopLiveReplicas } from '../live/initialReplicas.js';
import { GATEWAY_LOAD_QUERY, startLivePrometheus } from '../live/livePrometheus.js';
import { DEFAULT_INITIAL_RPS } from '../live/liveScale.js';
import {
  type LiveServer,
  type LiveServerKind,
  liveRoot,
  pipelineDir,
  processRef,
  readReplicas,
  readServer,
  stillRunning,
  writeServer,
} from '../live/liveState.js';
import { freePort } from '../tooling/freePort.js';
import { type ProcessGroup, startProcessGroup, stopGroup } from '../tooling/processGroup.js';
import { withClient } from './client.js';
import { ipaCommand } from './commandHints.js';
import { flagError, portFlag } from './flags.js';
import { addLiveLoadCommand } from './liveLoad.js';
import { addLiveRunCommand } from './liveRun.js';

interface LiveFlags {
  pipeline: string;
  stateDir?: string;
  json?: boolean;
}

const ipaBin = join(projectRoot, 'bin', 'ipa.js');

/**
 * The pipeline's name (its state folder's) from --pipeline: a name under profiles/pipelines/ or a
 * spec file. The live pipeline serves the stages of the spec under that name, so a file must name
 * one and keep its stages (it may change the rule, the objective, the SLA).
 */
export async function checkedPipeline(ref: string): Promise<string> {
  const file = ref.endsWith('.json') ? await resolvePipelineSpec(ref) : undefined;
  const name = file?.name ?? ref;
  const known = (await readdir(pipelinesDir).catch(() => [] as string[]))
    .filter((n) => n.endsWith('.json'))
    .map((n) => n.slice(0, -'.json'.length))
    .sort();
  const servedFrom = `${ref} names pipeline ${JSON.stringify(name)}, whose live stages come from ${join(pipelinesDir, `${name}.json`)}`;
  if (!known.includes(name)) {
    const missing = file ? `${servedFrom}: there is no such file` : `no pipeline ${JSON.stringify(ref)} in ${pipelinesDir}`;
    throw flagError('--pipeline', `${missing} (known: ${known.join(', ') || 'none'})`);
  }
  const served = await resolvePipelineSpec(name);
  if (!file) return served.name;
  const stagesOf = (spec: typeof served) => JSON.stringify(spec.stages.map((s) => [s.name, s.variants]));
  if (stagesOf(file) !== stagesOf(served)) {
    throw flagError('--pipeline', `${servedFrom}: its stages ${stagesOf(file)} differ from those, ${stagesOf(served)}`);
  }
  return file.name;
}

/** For down and status: a spec file gives its name; any other value is the name (no spec needed to stop what runs). */
async function pipelineName(ref: string): Promise<string> {
  if (ref.endsWith('.json')) return (await resolvePipelineSpec(ref)).name;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(ref)) throw flagError('--pipeline', `expected a pipeline name, got ${JSON.stringify(ref)}`);
  return ref;
}

/** A recorded server that still runs (the same process, not a later one with its pid), else undefined. */
async function runningServer(pipeline: string, kind: LiveServerKind, stateDir?: string): Promise<LiveServer | undefined> {
  const server = await readServer(pipeline, kind, stateDir).catch(() => undefined);
  return server && (await stillRunning(server.process)) ? server : undefined;
}

async function removeServer(pipeline: string, kind: LiveServerKind, stateDir?: string): Promise<void> {
  await rm(join(pipelineDir(pipeline, stateDir), `${kind}.json`), { force: true });
}

/**
 * Starts `ipa live gateway` detached and waits until it answers. On `port` when given (the user's,
 * or the old gateway's, which Prometheus scrapes and clients know), else on a free port, another
 * one if that was taken meanwhile.
 */
async function startGateway(pipeline: string, stateDir: string, started: ProcessGroup[], fixedPort?: number): Promise<LiveServer> {
  const logFile = join(pipelineDir(pipeline, stateDir), 'gateway.log');
  for (let attempt = 1; ; attempt++) {
    const port = fixedPort ?? (await freePort());
    const url = `http://127.0.0.1:${port}`;
    const group = startProcessGroup(
      process.execPath,
      [ipaBin, '--json-logs', 'live', 'gateway', '--pipeline', pipeline, '--state-dir', stateDir, '--port', String(port)],
      { cwd: projectRoot, env: process.env, logFile, outlive: true },
    );
    started.push(group);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (group.hasExited()) break;
      const live = await getJson<{ live: boolean }>(`${url}/v2/health/live`, 1_000);
      const status = live?.live ? await getJson<GatewayProcessStatus>(`${url}/ipa/status`, 1_000) : undefined;
      if (status?.pipeline === pipeline && !group.hasExited()) {
        const server: LiveServer = { url, process: await processRef(group.pgid), startedAt: new Date().toISOString(), logFile };
        await writeServer(pipeline, 'gateway', server, stateDir);
        return server;
      }
      if (Date.now() > deadline) {
        throw new Error(`the gateway did not answer ${url}/v2/health/live within 30 s (log ${logFile}):\n${group.output().slice(-1500)}`);
      }
      await sleep(150);
    }
    const tail = group.output().slice(-1500);
    if (fixedPort && /port \d+ is taken/.test(tail)) throw new Error(`--port: 127.0.0.1:${fixedPort} is taken by another process`);
    if (attempt < 3 && /port \d+ is taken/.test(tail)) continue;
    throw new Error(`the gateway exited before it answered (log ${logFile}):\n${tail}`);
  }
}

export interface LiveUp {
  gateway: LiveServer;
  prometheus: LiveServer;
  replicas: { detail: string };
  /** What was already running and kept: `up` again after a crash starts only what is missing. */
  kept: string[];
}

/**
 * Brings the live pipeline up: the gateway (detached), its Prometheus, the first replicas. What
 * still runs is kept, so `up` after a crashed gateway restarts only the gateway, on its old port
 * (Prometheus's target and the clients' URL stay valid). When everything runs it is an error.
 */
export async function bringUp(
  pipeline: string,
  stateDir: string,
  initialRps: number,
  options: { reuse?: boolean; port?: number } = {},
): Promise<LiveUp> {
  const [gatewayNow, prometheusNow] = await Promise.all([
    runningServer(pipeline, 'gateway', stateDir),
    runningServer(pipeline, 'prometheus', stateDir),
  ]);
  if (gatewayNow && prometheusNow && options.reuse) {
    const replicas = await startInitialReplicas(pipeline, stateDir, initialRps);
    return {
      gateway: gatewayNow,
      prometheus: prometheusNow,
      replicas,
      kept: [`gateway ${gatewayNow.url}`, `Prometheus ${prometheusNow.url}`],
    };
  }
  if (gatewayNow && prometheusNow) {
    throw new Error(
      `${pipeline} is already up: gateway ${gatewayNow.url} (pid ${gatewayNow.process.pid}), Prometheus ${prometheusNow.url} (pid ${prometheusNow.process.pid}); ` +
        `\`${await ipaCommand(`live down --pipeline ${pipeline} --state-dir ${stateDir}`)}\` first`,
    );
  }
  await mkdir(pipelineDir(pipeline, stateDir), { recursive: true });
  const started: ProcessGroup[] = [];
  let prometheus: LiveServer | undefined;
  try {
    const previous = gatewayNow ? undefined : await readServer(pipeline, 'gateway', stateDir).catch(() => undefined);
    const port = options.port ?? (previous ? Number(new URL(previous.url).port) : undefined);
    const gateway = gatewayNow ?? (await startGateway(pipeline, stateDir, started, port));
    prometheus = prometheusNow ?? (await startLivePrometheus({ pipeline, stateDir, gatewayUrl: gateway.url }));
    const replicas = await startInitialReplicas(pipeline, stateDir, initialRps);
    const kept = [gatewayNow && `gateway ${gatewayNow.url}`, prometheusNow && `Prometheus ${prometheusNow.url}`].filter((k): k is string =>
      Boolean(k),
    );
    return { gateway, prometheus, replicas, kept };
  } catch (error) {
    // Nothing half-started stays: stop what this run started and forget it (a replica that
    // failed to start was stopped by the actuator; replicas that ran before are left to run).
    if (prometheus && !prometheusNow) await stopGroup(prometheus.process.pid, 5_000).catch(() => undefined);
    for (const group of started) await group.stop(5_000).catch(() => undefined);
    if (!gatewayNow) await removeServer(pipeline, 'gateway', stateDir);
    if (!prometheusNow) await removeServer(pipeline, 'prometheus', stateDir);
    throw new Error(`live up ${pipeline} failed, nothing it started is left running: ${(error as Error).message}`);
  }
}

async function up(flags: LiveFlags & { initialRps?: string; port?: string }): Promise<void> {
  const pipeline = await checkedPipeline(flags.pipeline);
  const stateDir = liveRoot(flags.stateDir);
  const result = await bringUp(pipeline, stateDir, initialRps(flags), flags.port ? { port: portFlag('--port', flags.port) } : {});
  await printUp(pipeline, flags, pipelineDir(pipeline, stateDir), result);
}

async function printUp(pipeline: string, flags: LiveFlags, dir: string, { gateway, prometheus, replicas, kept }: LiveUp): Promise<void> {
  const adapt = await ipaCommand(
    `adapt start --pipeline ${pipeline} --actuator local${stateFlag(flags)} --observe prometheus --prometheus-url ${prometheus.url} --query '${GATEWAY_LOAD_QUERY}'`,
  );
  process.stdout.write(
    [
      `${pipeline} is up (state in ${dir})${kept.length > 0 ? `; kept what still ran: ${kept.join(', ')}` : ''}`,
      `  pipeline endpoint: POST ${gateway.url}/v2/models/${pipeline}/infer`,
      `  gateway metrics:   ${gateway.url}/metrics`,
      `  Prometheus:        ${prometheus.url}`,
      `  replicas:          ${replicas.detail}`,
      '',
      'start the loop on it (a worker must run):',
      `  ${adapt}`,
      `status: ${await ipaCommand(`live status --pipeline ${pipeline}${stateFlag(flags)}`)}`,
      `stop:   ${await ipaCommand(`live down --pipeline ${pipeline}${stateFlag(flags)}`)}`,
      '',
    ].join('\n'),
  );
}

/** ` --state-dir DIR` when the user gave one, for the commands printed. */
function stateFlag(flags: LiveFlags): string {
  return flags.stateDir ? ` --state-dir ${liveRoot(flags.stateDir)}` : '';
}

/**
 * A loop on the local actuator would start again what `down` stops (it restores its config every
 * step): cancel the pipeline's running loops first; their end releases their replicas too. Without
 * a reachable Temporal server there is no loop to stop, and `down` says so and goes on.
 */
async function cancelLoops(pipeline: string): Promise<string[]> {
  const query = `WorkflowType = 'adaptPipeline' AND ExecutionStatus = 'Running' AND IpaPipeline = '${pipeline.replace(/'/g, '')}'`;
  try {
    return await withClient(async (client) => {
      const lines: string[] = [];
      for await (const run of client.workflow.list({ query })) {
        await client.workflow.getHandle(run.workflowId).cancel();
        lines.push(`cancelled the loop ${run.workflowId}`);
      }
      return lines;
    });
  } catch (err) {
    log.debug({ err: (err as Error).message }, 'no loop cancelled: Temporal not reachable');
    return [];
  }
}

function initialRps(flags: LiveFlags & { initialRps?: string }): number {
  const rps = Number(flags.initialRps ?? DEFAULT_INITIAL_RPS);
  if (!(Number.isFinite(rps) && rps > 0))
    throw flagError('--initial-rps', `must be a number of requests/s > 0, got ${JSON.stringify(flags.initialRps)}`);
  return rps;
}

/** Stops the live pipeline: its loops (unless told not to), replicas, gateway and Prometheus; one line per thing stopped. */
export async function bringDown(pipeline: string, stateDir: string, options: { cancelLoops?: boolean } = {}): Promise<string[]> {
  const lines: string[] = options.cancelLoops === false ? [] : await cancelLoops(pipeline);
  const released = await stopLiveReplicas(pipeline, stateDir);
  if (!released.startsWith('no replica')) lines.push(released);
  for (const kind of ['gateway', 'prometheus'] as const) {
    const server = await readServer(pipeline, kind, stateDir).catch(() => undefined);
    if (server && (await stillRunning(server.process))) {
      if (!(await stopGroup(server.process.pid)))
        throw new Error(`the ${kind} of ${pipeline} (pid ${server.process.pid}) survived SIGKILL`);
      lines.push(`stopped the ${kind === 'gateway' ? 'gateway' : 'Prometheus'} ${server.url} (pid ${server.process.pid})`);
    }
    await removeServer(pipeline, kind, stateDir);
  }
  return lines;
}

async function down(flags: LiveFlags): Promise<void> {
  const pipeline = await pipelineName(flags.pipeline);
  const stateDir = liveRoot(flags.stateDir);
  const lines = await bringDown(pipeline, stateDir);
  process.stdout.write(
    `${lines.length > 0 ? lines.join('\n') : `nothing of ${pipeline} runs (state in ${pipelineDir(pipeline, stateDir)})`}\n`,
  );
}

export interface LiveStatus {
  pipeline: string;
  dir: string;
  gateway: (LiveServer & { up: boolean } & Partial<Omit<GatewayProcessStatus, 'pipeline'>>) | null;
  prometheus: (LiveServer & { up: boolean }) | null;
  replicasVersion: number;
  decisionId?: string;
  replicas: { id: string; stage: string; variant: string; shape: string; batch: number; url: string; routed: boolean; alive: boolean }[];
}

async function liveStatus(pipeline: string, stateDir: string): Promise<LiveStatus> {
  const [gateway, prometheus, replicas] = await Promise.all([
    readServer(pipeline, 'gateway', stateDir).catch(() => undefined),
    readServer(pipeline, 'prometheus', stateDir).catch(() => undefined),
    readReplicas(pipeline, stateDir),
  ]);
  let gatewayStatus: LiveStatus['gateway'] = null;
  if (gateway) {
    const running = await stillRunning(gateway.process);
    const answer = running ? await getJson<GatewayProcessStatus>(`${gateway.url}/ipa/status`) : undefined;
    gatewayStatus = {
      ...gateway,
      up: running && answer !== undefined,
      ...(answer
        ? {
            routesVersion: answer.routesVersion,
            ...(answer.routesError ? { routesError: answer.routesError } : {}),
            ready: answer.ready,
            outcomes: answer.outcomes,
            stages: answer.stages,
          }
        : {}),
    };
  }
  let prometheusStatus: LiveStatus['prometheus'] = null;
  if (prometheus) {
    const running = await stillRunning(prometheus.process);
    const ready =
      running &&
      (await fetch(`${prometheus.url}/-/ready`, { signal: AbortSignal.timeout(2_000) }).then(
        (r) => r.ok,
        () => false,
      ));
    prometheusStatus = { ...prometheus, up: ready };
  }
  return {
    pipeline,
    dir: pipelineDir(pipeline, stateDir),
    gateway: gatewayStatus,
    prometheus: prometheusStatus,
    replicasVersion: replicas.version,
    ...(replicas.decisionId ? { decisionId: replicas.decisionId } : {}),
    replicas: await Promise.all(
      replicas.replicas.map(async (r) => ({
        id: r.id,
        stage: r.stage,
        variant: r.variant,
        shape: r.shape,
        batch: r.batch,
        url: r.url,
        routed: r.routed,
        alive: await stillRunning(r.process),
      })),
    ),
  };
}

function renderStatus(s: LiveStatus): string {
  const g = s.gateway;
  const gatewayLine = !g
    ? 'gateway     down'
    : `gateway     ${g.up ? 'up  ' : 'down'}  ${g.url}` +
      (g.up
        ? `  routes v${g.routesVersion}, ${g.ready ? 'ready' : 'not ready (a stage has no ready replica)'}, ` +
          `ok ${g.outcomes?.ok} dropped ${g.outcomes?.dropped} error ${g.outcomes?.error}` +
          (g.routesError ? `\n            ${g.routesError}` : '')
        : '');
  const p = s.prometheus;
  const prometheusLine = !p ? 'Prometheus  down' : `Prometheus  ${p.up ? 'up  ' : 'down'}  ${p.url}`;
  const replicas =
    s.replicas.length === 0
      ? `replicas    none (version ${s.replicasVersion})`
      : [
          `replicas    version ${s.replicasVersion}${s.decisionId ? `, decision ${s.decisionId}` : ''}`,
          table(
            ['stage', 'variant', 'shape', 'batch', 'url', 'routed', 'alive'],
            s.replicas.map((r) => [r.stage, r.variant, r.shape, r.batch, r.url, r.routed ? 'yes' : 'no', r.alive ? 'yes' : 'no']),
          ),
        ].join('\n');
  return [`${s.pipeline} (state in ${s.dir})`, gatewayLine, prometheusLine, replicas].join('\n');
}

async function status(flags: LiveFlags): Promise<void> {
  const pipeline = await pipelineName(flags.pipeline);
  const s = await liveStatus(pipeline, liveRoot(flags.stateDir));
  process.stdout.write(`${flags.json ? JSON.stringify(s, null, 2) : renderStatus(s)}\n`);
}

export function registerLiveCommand(program: Command): void {
  const live = program
    .command('live')
    .description('the live pipeline on this machine: a gateway, a Prometheus scraping it, model-server replicas');
  const common = (cmd: Command) =>
    cmd
      .requiredOption('--pipeline <name>', 'pipeline: name under profiles/pipelines/ (or a spec file)')
      .option('--state-dir <dir>', 'live pipelines’ state folder (default IPA_LIVE_DIR or .ipa/live)');

  common(
    live
      .command('up')
      .description('start the gateway, its Prometheus (detached) and the first replicas; print the endpoint and the loop command'),
  )
    .option('--initial-rps <n>', 'the load the first replicas are sized for (the optimizer picks them)', String(DEFAULT_INITIAL_RPS))
    .option('--port <n>', "the gateway's port on 127.0.0.1 (default: its last one, else a free one)")
    .action(up);
  addLiveLoadCommand(live);
  addLiveRunCommand(live);
  common(live.command('down').description('stop the replicas, the gateway and the Prometheus of the pipeline')).action(down);
  common(live.command('status').description('gateway, Prometheus and replicas of the pipeline'))
    .option('--json', 'one JSON object')
    .action(status);
  common(live.command('gateway', { hidden: true }).description('run the pipeline gateway in the foreground (what `live up` starts)'))
    .option('--port <n>', 'port on 127.0.0.1 (default: a free one)')
    .action(async (flags: LiveFlags & { port?: string }) => {
      const { runGatewayProcess } = await import('../live/gatewayProcess.js');
      await runGatewayProcess({
        pipeline: flags.pipeline,
        ...(flags.stateDir ? { stateDir: flags.stateDir } : {}),
        ...(flags.port ? { port: portFlag('--port', flags.port) } : {}),
      });
    });
}
