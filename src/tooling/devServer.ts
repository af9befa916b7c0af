import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { log } from '../common/log.js';
import { pollUntil } from '../common/pollUntil.js';
import { ensureSearchAttributes } from '../temporal/searchAttributes.js';
import { logTail } from './logTail.js';
import { isAlive, processStartTime, startProcessGroup, waitGroupGone } from './processGroup.js';

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

/** What `ipa dev` writes in its state dir while it runs: who owns the server there, and where it answers. */
export interface DevServerOwner {
  /** The `ipa dev` process that started the server and stops it on exit. */
  ownerPid: number;
  /** When the owner started (clock ticks since boot): a pid reused by another process does not match. */
  ownerStartedAt: string;
  serverPid: number;
  address: string;
  uiUrl?: string;
}

const ownerFile = (stateDir: string) => join(stateDir, 'dev-server.json');

async function readOwner(stateDir: string): Promise<DevServerOwner | undefined> {
  try {
    const owner = JSON.parse(await readFile(ownerFile(stateDir), 'utf8')) as DevServerOwner;
    return Number.isInteger(owner.serverPid) && Number.isInteger(owner.ownerPid) ? owner : undefined;
  } catch {
    return undefined;
  }
}

async function cmdlineOf(pid: number): Promise<string[]> {
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
}

/** The server of this state dir, when its process is still the one that runs on our SQLite file. */
async function runningServer(stateDir: string): Promise<DevServerOwner | undefined> {
  const owner = await readOwner(stateDir);
  if (!owner || !isAlive(owner.serverPid)) return undefined;
  return (await cmdlineOf(owner.serverPid)).includes(join(stateDir, 'temporal.db')) ? owner : undefined;
}

/** The server of this state dir while the `ipa dev` that owns it is alive: a second `ipa dev` must leave it alone. */
export async function liveDevServer(stateDir: string): Promise<DevServerOwner | undefined> {
  const server = await runningServer(stateDir);
  if (!server || !isAlive(server.ownerPid)) return undefined;
  return (await processStartTime(server.ownerPid)) === server.ownerStartedAt ? server : undefined;
}

/**
 * A previous `ipa dev` killed with SIGKILL leaves its server running on our SQLite file; a second
 * server on the same file would fail or corrupt it, so that orphan is stopped first. A server
 * whose owner is alive is not an orphan: starting beside it is refused.
 */
async function stopOrphan(stateDir: string): Promise<void> {
  const live = await liveDevServer(stateDir);
  if (live) throw new DevServerInUseError(stateDir, live);
  const orphan = await runningServer(stateDir);
  if (!orphan) return;
  log.warn({ serverPid: orphan.serverPid, stateDir }, 'stopping a Temporal dev server left behind by an earlier run');
  process.kill(orphan.serverPid, 'SIGTERM');
  if (!(await waitGroupGone(orphan.serverPid, 15_000))) process.kill(orphan.serverPid, 'SIGKILL');
}

export class DevServerInUseError extends Error {
  constructor(
    readonly stateDir: string,
    readonly owner: DevServerOwner,
  ) {
    super(
      `a Temporal dev server already runs on ${stateDir}: ${owner.address}${owner.uiUrl ? `, Web UI ${owner.uiUrl}` : ''}, ` +
        `owned by ipa dev pid ${owner.ownerPid}; left as it is (use --attach to run only a worker against it)`,
    );
    this.name = 'DevServerInUseError';
  }
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
  await stopOrphan(options.stateDir);

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
  const uiUrl = options.headless ? undefined : `http://${ip}:${uiPort}`;
  const owner: DevServerOwner = {
    ownerPid: process.pid,
    ownerStartedAt: await processStartTime(process.pid),
    serverPid: pid,
    address,
    ...(uiUrl ? { uiUrl } : {}),
  };
  await writeFile(ownerFile(options.stateDir), `${JSON.stringify(owner)}\n`);
  const forget = () => rm(ownerFile(options.stateDir), { force: true });
  const stop = async () => {
    await server.stop(15_000);
    await forget();
  };

  const ready = await pollUntil(async () => (await probeFrontend(address, namespace)) && (!uiUrl || (await probeUi(uiUrl))), {
    timeoutMs: options.readyTimeoutMs ?? 60_000,
    everyMs: 250,
    stopped: () => server.hasExited(),
  });
  if (ready === 'stopped') {
    await forget();
    throw new Error(`Temporal dev server exited during start-up (log ${logFile}):\n${await logTail(logFile)}`);
  }
  if (ready === 'timeout') {
    await stop();
    throw new Error(`Temporal dev server did not answer on ${address} within the timeout (log ${logFile}):\n${await logTail(logFile)}`);
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
