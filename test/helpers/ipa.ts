import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { projectRoot } from '../../src/common/paths.js';

const exec = promisify(execFile);

export type IpaResult = { code: number; stdout: string; stderr: string };

/** Runs the built `ipa` CLI and returns its exit code and output, failing or not. */
export async function ipa(...args: string[]): Promise<IpaResult> {
  return ipaWithEnv({}, ...args);
}

/** `ipa` with extra environment variables (TEMPORAL_ADDRESS of a test server, say). */
export async function ipaWithEnv(env: NodeJS.ProcessEnv, ...args: string[]): Promise<IpaResult> {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['bin/ipa.js', ...args], { cwd: projectRoot, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
