import { readFile } from 'node:fs/promises';
import { Connection } from '@temporalio/client';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { NativeConnection } from '@temporalio/worker';

/** Where and how to reach Temporal; the same settings serve the client and the worker. */
export interface TemporalSettings {
  address: string;
  namespace: string;
  apiKey?: string;
  tls?: { clientCertPath?: string; clientKeyPath?: string; serverCaCertPath?: string; serverName?: string };
}

/**
 * Reads Temporal's standard environment variables. Returns undefined when TEMPORAL_ADDRESS is
 * unset, which is what makes `ipa dev` start its own server.
 */
export function temporalSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalSettings | undefined {
  if (!env.TEMPORAL_ADDRESS) return undefined;
  const tls = {
    clientCertPath: env.TEMPORAL_TLS_CLIENT_CERT_PATH,
    clientKeyPath: env.TEMPORAL_TLS_CLIENT_KEY_PATH,
    serverCaCertPath: env.TEMPORAL_TLS_SERVER_CA_CERT_PATH,
    serverName: env.TEMPORAL_TLS_SERVER_NAME,
  };
  const anyTls = Object.values(tls).some(Boolean);
  if (Boolean(tls.clientCertPath) !== Boolean(tls.clientKeyPath)) {
    throw new Error('TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH must be set together');
  }
  return {
    address: env.TEMPORAL_ADDRESS,
    namespace: env.TEMPORAL_NAMESPACE || 'default',
    ...(env.TEMPORAL_API_KEY ? { apiKey: env.TEMPORAL_API_KEY } : {}),
    ...(anyTls ? { tls } : {}),
  };
}

async function readPem(path: string | undefined, variable: string): Promise<Buffer | undefined> {
  if (!path) return undefined;
  return readFile(path).catch((err: Error) => {
    throw new Error(`${variable}=${JSON.stringify(path)}: ${err.message}`);
  });
}

/** TLS options from the settings; an API key alone means TLS with the system's roots (Temporal Cloud). */
async function tlsConfig(settings: TemporalSettings): Promise<TLSConfig | boolean> {
  if (!settings.tls) return Boolean(settings.apiKey);
  const crt = await readPem(settings.tls.clientCertPath, 'TEMPORAL_TLS_CLIENT_CERT_PATH');
  const key = await readPem(settings.tls.clientKeyPath, 'TEMPORAL_TLS_CLIENT_KEY_PATH');
  const ca = await readPem(settings.tls.serverCaCertPath, 'TEMPORAL_TLS_SERVER_CA_CERT_PATH');
  return {
    ...(crt && key ? { clientCertPair: { crt, key } } : {}),
    ...(ca ? { serverRootCACertificate: ca } : {}),
    ...(settings.tls.serverName ? { serverNameOverride: settings.tls.serverName } : {}),
  };
}

async function connectOptions(settings: TemporalSettings) {
  return {
    address: settings.address,
    tls: await tlsConfig(settings),
    ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
  };
}

export async function connectClient(settings: TemporalSettings): Promise<Connection> {
  return Connection.connect({ ...(await connectOptions(settings)), connectTimeout: '10s' });
}

export async function connectWorker(settings: TemporalSettings): Promise<NativeConnection> {
  return NativeConnection.connect(await connectOptions(settings));
}
