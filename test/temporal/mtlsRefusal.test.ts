import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createServer, type Server } from 'node:tls';
import { connectClient, connectWorker } from '../../src/temporal/connection.js';
import { makeCertificates } from '../../src/tooling/certificates.js';

/**
 * A server that requires a client certificate (mTLS), as a production Temporal frontend does,
 * refuses ipa without one: the error names the settings that supply it. The server here is a
 * TLS listener that demands a client certificate (certificates made with openssl at test time);
 * the Temporal SDK sees the same refused handshake from it as from a Temporal frontend.
 */
describe('connecting with TLS but without a client certificate', () => {
  let dir: string;
  let server: Server;
  let address: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ipa-mtls-'));
    const certificates = await makeCertificates(dir);
    const read = (path: string) => readFileSync(path);
    server = createServer({
      key: read(certificates.serverKey),
      cert: read(certificates.serverCert),
      ca: read(certificates.ca),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => {
    server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const settings = () => ({
    address,
    namespace: 'default',
    tls: { serverName: 'localhost', serverCACert: { path: join(dir, 'ca.pem'), setting: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH' } },
  });
  const names = /set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH/;

  it('the client connection is refused, naming the settings of a client certificate', async () => {
    await assert.rejects(connectClient(settings()), (err: Error) => names.test(err.message) && err.message.includes(address));
  });

  it('the worker connection too', async () => {
    await assert.rejects(connectWorker(settings()), (err: Error) => names.test(err.message));
  });
});
