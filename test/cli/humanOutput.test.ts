import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { humanLine } from '../../src/common/logFormat.js';
import { projectRoot } from '../../src/common/paths.js';
import type { DecisionRecord } from '../../src/model/decisionRecord.js';
import { groupAlive, startInGroup } from '../helpers/processes.js';
import { serverWithWorkers } from '../helpers/temporal.js';

const exec = promisify(execFile);

/** Runs a shell command on a pseudo-terminal (util-linux `script`), as a person at a terminal would. */
const onTerminal = (command: string) => ['script', ['-qefc', command, '/dev/null']] as const;

const applied: DecisionRecord = {
  id: 'adapt-video#12',
  step: 12,
  pipeline: 'video',
  at: '2026-12-01T10:00:00.000Z',
  trigger: 'timer',
  profilesVersion: 'measured-h200',
  settings: { slaMs: 300, alpha: 1, beta: 0.001, gamma: 0, accuracy: 'sum' },
  forecast: { forecast: 40, upper: 45.5, method: 'lstm', reason: 'model', provisioned: 45.5 },
  outcome: 'applied',
  feasible: true,
  config: {
    stages: [
      { stage: 'detect', variant: 'yolov5s', shape: 'cpu-4', batch: 2, replicas: 3 },
      { stage: 'classify', variant: 'resnet101', shape: 'cpu-4', batch: 4, replicas: 4 },
    ],
  },
  predicted: { pas: 1.2, cost: 28, latencyMs: 210.4, slackMs: 89.6, objective: { value: 1.17, accuracy: 1.2, cost: 0.028, batch: 0 } },
  reason: 'classify resnet50/cpu-4 b4×3 → resnet101/cpu-4 b4×4: objective +0.012 at λ̂ 45.5 rps',
};

describe('human output', () => {
  it('formats a log entry as one line: time, level, message, short fields', () => {
    const line = humanLine(
      JSON.stringify({
        level: 40,
        time: Date.UTC(2026, 11, 1, 9, 5, 7),
        pid: 1,
        msg: 'retrying',
        attempt: 2,
        err: { message: 'refused' },
        big: { a: 'x'.repeat(80) },
      }),
      false,
    );
    assert.match(line, /^\d\d:\d\d:\d\d WARN retrying attempt=2 err=refused\n$/);
    assert.equal(humanLine('not json', false), 'not json\n');
  });

  it('logs a decision as one line with step, outcome, λ̂, the config, latency against the SLA and why', async () => {
    const script = `import { record } from './dist/src/activities/record.js'; await record(${JSON.stringify(applied)});`;
    const human = await exec(process.execPath, ['--input-type=module', '-e', script], {
      cwd: projectRoot,
      env: { ...process.env, IPA_LOG_FORMAT: 'human' },
    });
    const lines = human.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 1, human.stdout);
    assert.match(
      lines[0] ?? '',
      /^\d\d:\d\d:\d\d video step 12 applied · 210\.4\/300 ms at λ̂ 45\.5 rps · classify resnet50\/cpu-4 b4×3 → resnet101\/cpu-4 b4×4: objective \+0\.012 at λ̂ 45\.5 rps$/,
    );
    const json = await exec(process.execPath, ['--input-type=module', '-e', script], {
      cwd: projectRoot,
      env: { ...process.env, IPA_LOG_FORMAT: '' },
    });
    const entry = JSON.parse(json.stdout) as { decision: { id: string; outcome: string; latencyMs: number } };
    assert.deepEqual([entry.decision.id, entry.decision.outcome, entry.decision.latencyMs], ['adapt-video#12', 'applied', 210.4]);
  });

  describe('on a terminal and off it', () => {
    const server = serverWithWorkers(['adapt']);

    it('ipa ping: a sentence on a terminal, JSON in a pipe or with --json', async () => {
      const cliEnv = { ...process.env, TEMPORAL_ADDRESS: server.env.address, IPA_LOG_FORMAT: '' };
      const [command, args] = onTerminal(`${process.execPath} bin/ipa.js ping`);
      const terminal = await exec(command, [...args], { cwd: projectRoot, env: cliEnv });
      assert.match(
        terminal.stdout.trim(),
        /^ok in \d+ ms: workflow on ipa-adapt, activity on ipa-adapt by ipa \S+ \(pid \d+ on \S+, node v[\d.]+\)$/,
      );
      const piped = await exec(process.execPath, ['bin/ipa.js', 'ping'], { cwd: projectRoot, env: cliEnv });
      assert.equal(JSON.parse(piped.stdout).activityWorker.taskQueue, 'ipa-adapt');
      const [, jsonArgs] = onTerminal(`${process.execPath} bin/ipa.js ping --json`);
      const forced = await exec(command, [...jsonArgs], { cwd: projectRoot, env: cliEnv });
      assert.equal(JSON.parse(forced.stdout).workflowQueue, 'ipa-adapt');
    });

    it('logs: readable lines on a terminal, JSON lines with --json-logs', async () => {
      const cliEnv = { ...process.env, TEMPORAL_ADDRESS: server.env.address, IPA_LOG_FORMAT: '', IPA_METRICS_PORT: '0', NO_COLOR: '1' };
      for (const [flags, pattern] of [
        ['', /^\d\d:\d\d:\d\d worker polling address=\S+ namespace=default queues=\["ipa-adapt"\]\r?$/m],
        ['--json-logs', /^\{"level":30,[^\n]*"msg":"worker polling"\}\r?$/m],
      ] as const) {
        const [command, args] = onTerminal(`${process.execPath} bin/ipa.js ${flags} worker --queues adapt`);
        const run = startInGroup(command, [...args], { cwd: projectRoot, env: cliEnv });
        try {
          assert.match((await run.waitFor(/worker polling[^\n]*\n/, 60_000)).input ?? '', pattern);
        } finally {
          if (run.child.pid && groupAlive(run.child.pid)) process.kill(-run.child.pid, 'SIGINT');
          await run.exited;
        }
      }
    });
  });
});
