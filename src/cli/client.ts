import { Client } from '@temporalio/client';
import { connectClient, type TemporalSettings, temporalSettingsFromEnv } from '../temporal/connection.js';

/** The local dev server of `ipa dev` unless TEMPORAL_ADDRESS (and friends) name another. */
export const LOCAL_TEMPORAL = { address: '127.0.0.1:7233', namespace: 'default' };

/** Runs `body` with a client of `settings` (by default the configured Temporal), closing the connection after. */
export async function withClient<T>(
  body: (client: Client) => Promise<T>,
  settings: TemporalSettings = temporalSettingsFromEnv() ?? LOCAL_TEMPORAL,
): Promise<T> {
  const connection = await connectClient(settings);
  try {
    return await body(new Client({ connection, namespace: settings.namespace }));
  } finally {
    await connection.close();
  }
}
