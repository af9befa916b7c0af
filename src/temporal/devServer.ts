import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { log } from '../log.js';
import { isAlive, startProcessGroup, waitGroupGone } from '../processGroup.js';
import { ensureSearchAttributes } from './searchAttributes.js';

export interface DevServerOptions {
  /** Temporal CLI binary (see findTemporalCli). */
  binary: string;
  /** Folder for the SQLite file, the server log and its pid; state survives restarts. */
  stateDir: string;
  ip?: string;
  port?: number;
  uiPort?: number;
  /** No Web UI (tests that do not need it start faster). */
  headless?: boolean;
  /** Keep state in memory instead of the SQLite file (benchmarks: no disk writes). */
  inMemory?: boolean;
  namespace?: string;
  readyTimeoutMs?: number;
}

export interface DevServer {
  address: string;
  namespace: string;
  uiUrl?: string;
  dbFile: string;
  logFile: string;
  pid: number;
  /** Settles when the server process exits, with its exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/**
 * A previous `ipa dev` killed with SIGKILL leaves its server running on our SQLite file; a second
 * server on the same file would fail or corrupt it, so that orphan is stopped first.
 */
async function stopOrphan(pidFile: string, dbFile: string): Promise<void> {
  const pid = Number.parseInt(await readFile(pidFile, 'utf8').catch(() => ''), 10);
  if (!Number.isInteger(pid) || !isAlive(pid)) return;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline.split('\0').includes(dbFile)) return;
  log.warn({ pid, dbFile }, 'stopping a Temporal dev server left behind by an earlier run');
  process.kill(pid, 'SIGTERM');
  if (!(await waitGroupGone(pid, 15_000))) process.kill(pid, 'SIGKILL');
}

async function tail(file: string, lines = 20): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

async function probeFrontend(address: string, namespace: string): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: '1s' });
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close();
  }
}

async function probeUi(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * Starts `temporal server start-dev` on a persistent SQLite file, waits until the frontend and
 * the UI answer, and registers ipa's search attributes.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const ip = options.ip ?? '127.0.0.1';
  const port = options.port ?? 7233;
  const uiPort = options.uiPort ?? port + 1000;
  const namespace = options.namespace ?? 'default';
  const address = `${ip}:${port}`;
  await mkdir(options.stateDir, { recursive: true });
  const dbFile = join(options.stateDir, 'temporal.db');
  const logFile = join(options.stateDir, 'temporal.log');
  const pidFile = join(options.stateDir, 'temporal.pid');
  await stopOrphan(pidFile, dbFile);

  // WAL with synchronous=NORMAL: a killed server loses nothing, only a crash of the machine may
  // lose the last transactions; it takes an fsync off every history write, which bounds how
  // many loops one local server carries (bench:adapt).
  const storage = options.inMemory
    ? []
    : ['--db-filename', dbFile, '--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal'];
  const args = ['server', 'start-dev', ...storage, '--ip', ip, '--port', String(port), '--log-level', 'warn'];
  if (namespace !== 'default') args.push('--namespace', namespace);
  if (options.headless) args.push('--headless');
  else args.push('--ui-port', String(uiPort), '--ui-disable-news-fetch');

  // Its own process group: a terminal's Ctrl-C reaches only ipa, which stops the worker first
  // and the server after it, so the worker never loses its server mid-shutdown.
  const server = startProcessGroup(options.binary, args, { cwd: process.cwd(), env: process.env, logFile });
  const pid = server.pgid;
  await writeFile(pidFile, String(pid));
  const stop = async () => {
    await server.stop(15_000);
    await rm(pidFile, { force: true });
  };

  const uiUrl = options.headless ? undefined : `http://${ip}:${uiPort}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (server.hasExited()) {
      await rm(pidFile, { force: true });
      throw new Error(`Temporal dev server exited during start-up (log ${logFile}):\n${await tail(logFile)}`);
    }
    if ((await probeFrontend(address, namespace)) && (!uiUrl || (await probeUi(uiUrl)))) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Temporal dev server did not answer on ${address} within the timeout (log ${logFile}):\n${await tail(logFile)}`);
    }
    await sleep(250);
  }

  const connection = await Connection.connect({ address });
  try {
    const added = await ensureSearchAttributes(connection, namespace);
    if (added.length > 0) log.info({ added }, 'registered search attributes');
  } finally {
    await connection.close();
  }
  return { address, namespace, ...(uiUrl ? { uiUrl } : {}), dbFile, logFile, pid, exited: server.exited, stop };
}
