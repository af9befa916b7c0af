import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { projectRoot } from '../../src/paths.js';
import { pipelineJson } from '../helpers/files.js';

const exec = promisify(execFile);

async function ipa(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['bin/ipa.js', ...args], { cwd: projectRoot });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('ipa CLI', () => {
  it('lists its commands in --help', async () => {
    const { code, stdout } = await ipa('--help');
    assert.equal(code, 0);
    for (const command of ['dev', 'worker', 'ping', 'profiles', 'setup']) assert.match(stdout, new RegExp(`^  ${command}\\b`, 'm'));
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
});
