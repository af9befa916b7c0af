import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pipelineJson } from '../helpers/files.js';
import { ipa } from '../helpers/ipa.js';

describe('ipa CLI', () => {
  it('lists its commands in --help', async () => {
    const { code, stdout } = await ipa('--help');
    assert.equal(code, 0);
    for (const command of ['dev', 'worker', 'ping', 'profiles', 'setup', 'optimize', 'forecast'])
      assert.match(stdout, new RegExp(`^  ${command}\\b`, 'm'));
  });

  it('has --help on every command', async () => {
    for (const command of [
      ['dev'],
      ['worker'],
      ['ping'],
      ['setup'],
      ['profiles'],
      ['profiles', 'validate'],
      ['profiles', 'convert'],
      ['profiles', 'list'],
      ['profiles', 'rehash'],
      ['optimize'],
      ['forecast'],
      ['forecast', 'train'],
      ['forecast', 'evaluate'],
      ['forecast', 'predict'],
    ]) {
      const { code, stdout } = await ipa(...command, '--help');
      assert.equal(code, 0, command.join(' '));
      assert.match(stdout, new RegExp(`^Usage: ipa ${command.join(' ')}`, 'm'));
    }
  });

  it('rejects an unknown queue, naming the flag and the value', async () => {
    const { code, stderr } = await ipa('worker', '--queues', 'adapt,gpu');
    assert.equal(code, 1);
    assert.match(stderr, /--queues: unknown queue "gpu" \(known: adapt, profile-cpu, profile-gpu\)/);
  });

  it('validates the committed profile sets and pipeline specs', async () => {
    const { code, stdout } = await ipa('profiles', 'validate');
    assert.equal(code, 0, stdout);
    assert.match(stdout, /ok {4}.*measured-h200\.json/);
    assert.match(stdout, /ok {4}.*video\.json {2}pipeline video: detect → classify \(checked against measured-h200\)/);
    assert.match(stdout, /ok {4}.*text\.json/);
  });

  it('fails validation of a bad spec with the field and the value', async () => {
    const spec = pipelineJson('video');
    spec.stages[1].variants[0] = 'resnet19';
    const file = join(tmpdir(), `ipa-bad-${process.pid}.json`);
    await writeFile(file, JSON.stringify(spec));
    const { code, stdout } = await ipa('profiles', 'validate', file);
    assert.equal(code, 1);
    assert.match(stdout, /stages\[1\]\.variants\[0\]: unknown variant "resnet19"/);
  });

  it('optimize prints a decision table, or the decision as JSON', async () => {
    const text = await ipa('optimize', '--pipeline', 'video', '--load', '100');
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^video {2}load 100 rps {2}SLA 300 ms {2}PAS multiply {2}feasible \(optimal, branch-and-bound/);
    assert.match(text.stdout, /^detect {3,}\S+ +gpu-h200/m);
    assert.match(text.stdout, /^alternatives:/m);
    const json = await ipa('optimize', '--pipeline', 'video', '--load', '100', '--method', 'brute', '--json');
    const decision = JSON.parse(json.stdout);
    assert.equal(decision.feasible, true);
    assert.equal(decision.solver.method, 'brute-force');
    assert.equal(decision.config.length, 2);
  });

  it('optimize solves a fleet and rejects bad flags by name', async () => {
    const fleet = await ipa('optimize', '--fleet', 'profiles/fleets/shared-cluster.json');
    assert.equal(fleet.code, 0, fleet.stderr);
    assert.match(fleet.stdout, /^joint: +objective/m);
    assert.match(fleet.stdout, /^independent: .* does NOT fit/m);
    const bad = await ipa('optimize', '--pipeline', 'video', '--load', '-5');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--load: expected a finite number ≥ 0, got "-5"/);
    const method = await ipa('optimize', '--pipeline', 'video', '--load', '5', '--method', 'gurobi');
    assert.match(method.stderr, /--method: expected one of auto, highs, pareto, bnb, brute, got "gurobi"/);
  });
});
