import { spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { log } from '../../common/log.js';
import { isAlive } from '../processGroup.js';
import { goBinary } from './go.js';

/** The Go toolchain for building `what`, or an error saying that there is none. */
export async function findGo(what: string): Promise<string> {
  const go = await goBinary();
  if (!go) throw new Error(`no \`go\` on PATH (or GO_BIN) to build ${what} with`);
  return go;
}

/**
 * Runs the go command with `-v`, which prints each package as it compiles: counted and logged
 * every 30 s, since a first build of Kubernetes or the Temporal server compiles thousands of packages, for minutes.
 */
export async function runGo(go: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; step: string }): Promise<void> {
  const started = Date.now();
  const child = spawn(go, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  let packages = 0;
  const onLine = (line: string) => {
    if (!line) return;
    packages++;
    tail.push(line);
    if (tail.length > 30) tail.shift();
  };
  let partial = '';
  const onData = (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    lines.forEach(onLine);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const progress = setInterval(
    () => log.info({ step: options.step, packages, elapsedSeconds: Math.round((Date.now() - started) / 1000) }, 'go is still building'),
    30_000,
  );
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    onLine(partial);
    if (code !== 0) throw new Error(`\`go ${args.join(' ')}\` exited with ${code} (${options.step}):\n${tail.join('\n')}`);
  } finally {
    clearInterval(progress);
  }
  log.info({ step: options.step, packages, elapsedSeconds: Math.round((Date.now() - started) / 1000) }, 'go build done');
}

/**
 * GOFLAGS replaced, not extended: the module build needs -mod=mod (no go.sum yet) and
 * `go install pkg@version` refuses any -mod. No cgo: static binaries, as upstream releases them.
 */
export const goEnv = (goflags: string) => ({ ...process.env, GOFLAGS: goflags, CGO_ENABLED: process.env.CGO_ENABLED ?? '0' });

/**
 * One builder per cache folder across processes (parallel test files, a second `ipa setup`):
 * two concurrent builds on a small machine would each take twice as long. A lock left
 * by a dead process is taken over.
 */
export async function withBuildLock<T>(dir: string, what: string, fn: () => Promise<T>): Promise<T> {
  const lock = join(dir, '.build.lock');
  let lastNotice = 0;
  for (;;) {
    try {
      await writeFile(lock, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number.parseInt(await readFile(lock, 'utf8').catch(() => ''), 10);
    if (!Number.isInteger(holder) || !isAlive(holder)) {
      await rm(lock, { force: true });
      continue;
    }
    if (Date.now() - lastNotice > 60_000) {
      log.info({ pid: holder, lock }, `another process is building ${what}: waiting for it`);
      lastNotice = Date.now();
    }
    await sleep(2_000);
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
}
