import type { Client } from '@temporalio/client';
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, WorkflowFailedError } from '@temporalio/client';
import type { Command } from 'commander';
import { table } from '../common/table.js';
import { readJsonFile } from '../io/jsonFile.js';
import { percentile } from '../model/fields.js';
import { type ProfilingRequestFields, parseProfilingRequest } from '../model/profilingRun.js';
import { TASK_QUEUES } from '../temporal/taskQueues.js';
import { type ProfilingProgress, type ProfilingResult, profilePipeline, progress } from '../workflows/profilePipeline.js';
import { withClient } from './client.js';
import { temporalCommand } from './commandHints.js';
import { flagError, numberFlag, oneOf, positiveIntFlag, positiveNumberFlag } from './flags.js';
import { progressBar } from './progress.js';

interface RequestFlags {
  pipeline?: string;
  shapes?: string;
  variants?: string;
  batches?: string;
  percentile?: string;
  boundMs?: string;
  probeSeconds?: string;
  warmupSeconds?: string;
  searchSteps?: string;
  maxBatchSize?: string;
  batchTimeoutMs?: string;
  readyTimeout?: string;
  attempts?: string;
  parallelCpu?: string;
  parallelGpu?: string;
  name?: string;
  endpoint?: string;
  model?: string;
  accuracy?: string;
  reload: boolean;
}

const list = (value: string | undefined) =>
  value
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** `--accuracy resnet18=69.8,resnet50=76.1` */
function accuracyFlag(value: string | undefined): Record<string, number> | undefined {
  if (value === undefined) return undefined;
  return Object.fromEntries(
    (list(value) ?? []).map((pair) => {
      const [variant, percent] = pair.split('=');
      if (!variant || percent === undefined) throw flagError('--accuracy', `expected VARIANT=PERCENT, got ${JSON.stringify(pair)}`);
      return [variant, numberFlag('--accuracy', percent, { max: 100 })];
    }),
  );
}

/**
 * The profilePipeline input from flags, validated here so a typo fails before anything starts. A
 * pipeline file is sent inline: a schedule then runs the spec it was made with, on any worker.
 */
async function requestFromFlags(flags: RequestFlags): Promise<ProfilingRequestFields> {
  if (!flags.pipeline) throw flagError('--pipeline', 'required (a file, or a name under profiles/pipelines/)');
  const pipeline = flags.pipeline.endsWith('.json') ? ((await readJsonFile(flags.pipeline)) as Record<string, unknown>) : flags.pipeline;
  const variants = list(flags.variants);
  if ((flags.endpoint === undefined) !== (flags.model === undefined)) throw flagError('--endpoint', '--endpoint and --model go together');
  if (flags.endpoint && variants?.length !== 1) {
    throw flagError(
      '--variants',
      `--endpoint profiles one variant: name it with --variants, got ${JSON.stringify(flags.variants ?? null)}`,
    );
  }
  const server = {
    ...(flags.maxBatchSize ? { maxBatchSize: positiveIntFlag('--max-batch-size', flags.maxBatchSize) } : {}),
    ...(flags.batchTimeoutMs ? { batchTimeoutMs: numberFlag('--batch-timeout-ms', flags.batchTimeoutMs) } : {}),
    ...(flags.readyTimeout ? { readyTimeoutSeconds: positiveNumberFlag('--ready-timeout', flags.readyTimeout) } : {}),
  };
  const accuracy = accuracyFlag(flags.accuracy);
  const request: ProfilingRequestFields = {
    pipeline,
    ...(flags.shapes ? { shapes: list(flags.shapes) } : {}),
    ...(variants ? { variants } : {}),
    ...(flags.batches ? { batches: (list(flags.batches) ?? []).map((b) => positiveIntFlag('--batches', b)) } : {}),
    ...(flags.percentile ? { percentile: oneOf('--percentile', flags.percentile, percentile.options) } : {}),
    ...(flags.boundMs ? { latencyBoundMs: positiveNumberFlag('--bound-ms', flags.boundMs) } : {}),
    ...(flags.probeSeconds ? { probeSeconds: positiveNumberFlag('--probe-seconds', flags.probeSeconds) } : {}),
    ...(flags.warmupSeconds ? { warmupSeconds: numberFlag('--warmup-seconds', flags.warmupSeconds) } : {}),
    ...(flags.searchSteps ? { searchSteps: positiveIntFlag('--search-steps', flags.searchSteps) } : {}),
    ...(Object.keys(server).length > 0 ? { server } : {}),
    ...(flags.attempts ? { attempts: positiveIntFlag('--attempts', flags.attempts) } : {}),
    ...(flags.parallelCpu || flags.parallelGpu
      ? {
          parallelism: {
            ...(flags.parallelCpu ? { cpu: positiveIntFlag('--parallel-cpu', flags.parallelCpu) } : {}),
            ...(flags.parallelGpu ? { gpu: positiveIntFlag('--parallel-gpu', flags.parallelGpu) } : {}),
          },
        }
      : {}),
    ...(flags.name ? { name: flags.name } : {}),
    ...(flags.endpoint && variants?.[0] ? { endpoints: { [variants[0]]: { url: flags.endpoint, model: flags.model as string } } } : {}),
    ...(accuracy ? { accuracy } : {}),
    ...(flags.reload ? {} : { reload: false }),
  };
  parseProfilingRequest(request, 'ipa profile');
  return request;
}

function pipelineName(request: ProfilingRequestFields): string {
  const { pipeline } = request;
  return typeof pipeline === 'string' ? pipeline.replace(/^.*\//, '').replace(/\.json$/, '') : String(pipeline.name);
}

function requestOptions(command: Command): Command {
  return command
    .requiredOption('--pipeline <file|name>', 'pipeline spec: a JSON file (sent inline) or a name under profiles/pipelines/')
    .option('--shapes <list>', 'shapes to measure on: cpu-N (N cores) or gpu-NAME (runs on ipa-profile-gpu)', 'cpu-1')
    .option('--variants <list>', "only these variants (default: all of the pipeline's)")
    .option('--batches <list>', 'batch sizes, one profile row each', '1,2,4,8')
    .option('--percentile <p>', 'latency percentile kept within the bound: p50, p95 or p99', 'p99')
    .option('--bound-ms <ms>', 'latency bound of the rate search', '1000')
    .option('--probe-seconds <s>', 'length of each load probe', '5')
    .option('--warmup-seconds <s>', 'warm-up per batch size', '2')
    .option('--search-steps <n>', 'open-loop probes per batch size', '5')
    .option('--max-batch-size <n>', 'MLServer adaptive batching of the testbed servers (1: off)', '1')
    .option('--batch-timeout-ms <ms>', 'MLServer batch timeout of the testbed servers', '0')
    .option('--ready-timeout <s>', 'time a server has to become ready', '120')
    .option('--attempts <n>', 'attempts per variant before it is reported as failed', '3')
    .option('--parallel-cpu <n>', 'variants measured at once on ipa-profile-cpu', '1')
    .option('--parallel-gpu <n>', 'variants measured at once on ipa-profile-gpu', '1')
    .option('--name <name>', "profile set written (default: the pipeline's profiles, else its name)")
    .option(
      '--endpoint <url>',
      'profile a server you run (OIP v2: Triton, KServe, MLServer) instead of the testbed; with --model and one --variants',
    )
    .option('--model <name>', 'model name at --endpoint')
    .option('--accuracy <list>', 'VARIANT=PERCENT,… for variants whose accuracy no earlier set or testbed gives')
    .option('--no-reload', 'do not send reloadProfiles to the running adaptPipeline workflows of the pipeline');
}

function renderResult(result: ProfilingResult): string {
  const rows = result.measurements.flatMap((m) =>
    m.rows.map((r) => [m.stage, m.variant, m.shape, r.batch, r.p50Ms, r.p99Ms, r.throughputRps, m.measuredBy.queue]),
  );
  const lines = [
    table(['stage', 'variant', 'shape', 'batch', 'p50 ms', 'p99 ms', 'items/s', 'queue'], rows),
    '',
    `profile set ${result.profileSet.name} ${result.profileSet.version}: ${result.profileSet.variants} variants, ${result.profileSet.rows} rows`,
    `  written to ${result.profileSet.path}`,
    result.reloaded.length > 0
      ? `  reloadProfiles sent to ${result.reloaded.join(', ')}`
      : '  no running adaptPipeline of this pipeline to reload',
  ];
  for (const m of result.measurements)
    for (const s of m.skipped) lines.push(`  ${m.variant} on ${m.shape}, batch ${s.batch}: skipped: ${s.reason}`);
  for (const f of result.failed) lines.push(`  FAILED ${f.variant} on ${f.shape}: ${f.error}`);
  return lines.join('\n');
}

async function run(flags: RequestFlags & { workflowId?: string; json?: boolean }): Promise<void> {
  const request = await requestFromFlags(flags);
  await withClient(async (client: Client) => {
    const workflowId = flags.workflowId ?? `profile-${pipelineName(request)}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    const handle = await client.workflow.start(profilePipeline, { args: [request], taskQueue: TASK_QUEUES.adapt, workflowId });
    process.stderr.write(`started ${workflowId}; Ctrl-C cancels it (model servers are stopped)\n`);
    const onInterrupt = () => {
      process.stderr.write('\ncancelling…\n');
      void handle.cancel();
    };
    process.once('SIGINT', onInterrupt);
    const bar = progressBar('profiling');
    const poll = setInterval(() => {
      handle
        .query(progress)
        .then((p: ProfilingProgress) => {
          const running = p.jobs.filter((j) => j.status === 'running').map((j) => `${j.variant}@${j.shape}`);
          bar(p.done + p.failed, p.total, `${p.failed} failed${running.length ? `; now ${running.join(', ')}` : ''}`);
        })
        .catch(() => {});
    }, 1000);
    try {
      const result = await handle.result();
      process.stdout.write(`${flags.json ? JSON.stringify(result, null, 2) : renderResult(result)}\n`);
      if (result.failed.length > 0) process.exitCode = 1;
    } catch (err) {
      if (err instanceof WorkflowFailedError && err.cause) throw err.cause;
      throw err;
    } finally {
      clearInterval(poll);
      process.off('SIGINT', onInterrupt);
    }
  });
}

async function schedule(flags: RequestFlags & { cron: string[]; scheduleId?: string; paused?: boolean }): Promise<void> {
  const request = await requestFromFlags(flags);
  const scheduleId = flags.scheduleId ?? `profile-${pipelineName(request)}`;
  const spec = { cronExpressions: flags.cron };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: profilePipeline,
    args: [request] as [ProfilingRequestFields],
    taskQueue: TASK_QUEUES.adapt,
    workflowId: scheduleId,
  };
  await withClient(async (client) => {
    try {
      await client.schedule.create({
        scheduleId,
        spec,
        action,
        // A profiling run still going when the next is due would measure on busy nodes.
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1h' },
        state: { paused: flags.paused ?? false, note: 'created by ipa profile schedule' },
      });
      process.stdout.write(`created schedule ${scheduleId} (${flags.cron.join('; ')})\n`);
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await client.schedule.getHandle(scheduleId).update((previous) => ({
        ...previous,
        spec,
        action,
        state: { ...previous.state, paused: flags.paused ?? previous.state.paused, note: 'updated by ipa profile schedule' },
      }));
      process.stdout.write(`updated schedule ${scheduleId} (${flags.cron.join('; ')})\n`);
    }
    process.stdout.write(
      `  run now:  ${await temporalCommand(`schedule trigger --schedule-id ${scheduleId}`)}\n` +
        `  inspect:  ${await temporalCommand(`schedule describe --schedule-id ${scheduleId}`)}\n`,
    );
  });
}

export function registerProfileCommand(program: Command): void {
  const profile = program.command('profile').description('measure variants on model servers into a new profile set (profilePipeline)');
  requestOptions(profile.command('run'))
    .description('profile a pipeline once, with progress; the set is written by the worker to its profile store')
    .option('--workflow-id <id>', 'workflow id (default: profile-PIPELINE-TIME)')
    .option('--json', 'print the result as JSON')
    .action(run);
  requestOptions(profile.command('schedule'))
    .description('create or update a Temporal Schedule that profiles the pipeline on a cron spec')
    .requiredOption('--cron <expr...>', 'cron expression(s), e.g. "0 3 * * *" (UTC)')
    .option('--schedule-id <id>', 'schedule id (default: profile-PIPELINE)')
    .option('--paused', 'create it paused')
    .action(schedule);
}
