import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { projectRoot } from '../../src/common/paths.js';
import { serverWithWorkers } from '../helpers/temporal.js';

const exec = promisify(execFile);

/** The PATH of a new login shell on Debian: no Temporal CLI, no node_modules/.bin on it. */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The logical lines (continuations joined) of the README's ```sh blocks. */
function shellLines(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  return blocks.flatMap((block) => block.replace(/\\\n\s*/g, ' ').split('\n')).filter((line) => line.trim() !== '');
}

describe('the README', () => {
  const server = serverWithWorkers(['adapt']);
  let lines: string[];

  before(async () => {
    lines = shellLines(await readFile(join(projectRoot, 'README.md'), 'utf8'));
  });

  it('runs every temporal command as written after its setup line, in a shell with the default PATH', async () => {
    const setup = lines.filter((line) => line.includes('ipa shellenv'));
    assert.deepEqual(setup, ['eval "$(npx ipa shellenv)"'], 'one documented setup line');
    const commands = lines.filter((line) => line.startsWith('temporal '));
    assert.ok(commands.length >= 15, `only ${commands.length} temporal commands found in the README`);
    const shellEnv = { HOME: process.env.HOME ?? '/root', PATH: DEFAULT_PATH, TEMPORAL_ADDRESS: server.env.address };

    const bare = await exec('bash', ['-c', 'command -v temporal || echo none'], { cwd: projectRoot, env: shellEnv });
    assert.equal(bare.stdout.trim(), 'none', 'the default PATH already has a temporal: the test would prove nothing');
    for (const command of commands) {
      // Each in a new shell, as a user pasting it into a new terminal would.
      const result = await exec('bash', ['-c', `${setup[0]}\n${command}`], { cwd: projectRoot, env: shellEnv, timeout: 60_000 }).catch(
        (err: { code: number; stdout: string; stderr: string }) => err,
      );
      assert.ok(!('code' in result) || result.code === 0, `${command}\nfailed: ${'stderr' in result ? result.stderr : ''}`);
      // Steps of the loop follow signals: let each take effect before the next line needs it.
      if (command.includes('workflow start')) await waitForStep(shellEnv, setup[0] ?? '');
    }
  });
});

describe('hints ipa prints', () => {
  const server = serverWithWorkers(['adapt']);

  it('run as printed in a shell with the default PATH', async () => {
    const shellEnv = { HOME: process.env.HOME ?? '/root', PATH: DEFAULT_PATH, TEMPORAL_ADDRESS: server.env.address };
    const shell = (command: string) => exec('bash', ['-c', command], { cwd: projectRoot, env: shellEnv, timeout: 60_000 });
    const started = await shell('npx ipa adapt start --pipeline text --workflow-id hint-text --interval 3600');
    const scheduled = await shell("npx ipa profile schedule --pipeline testbed --cron '0 3 * * *' --schedule-id hint-schedule");
    const hints = [...started.stdout.matchAll(/^ {2}\w+: +(.+)$/gm), ...scheduled.stdout.matchAll(/^ {2}[\w ]+: +(.+)$/gm)].map(
      (m) => m[1] ?? '',
    );
    assert.equal(hints.length, 5, `${started.stdout}${scheduled.stdout}`);
    for (const hint of hints) {
      assert.match(hint, /^(npx ipa|\/\S+\/temporal) /, 'neither on the default PATH: named so they run');
      await assert.doesNotReject(shell(hint), `${hint} does not run as printed`);
    }
  });
});

async function waitForStep(shellEnv: NodeJS.ProcessEnv, setup: string): Promise<void> {
  const query = `${setup}\ntemporal workflow query --workflow-id adapt-video --type status -o json`;
  for (let i = 0; i < 60; i += 1) {
    const out = await exec('bash', ['-c', query], { cwd: projectRoot, env: shellEnv }).then(
      (r) => r.stdout,
      () => '',
    );
    if (/"step":\s*[1-9]/.test(out)) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error('adapt-video made no step within 30 s');
}
