import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ControlPlaneCertificates {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  /** Signs service-account tokens (apiserver) and legacy token secrets (controller-manager). */
  serviceAccountKey: string;
  serviceAccountPublicKey: string;
}

// Our own minimal config: the machine's openssl.cnf may add extensions a CA must not have (or lack some).
const OPENSSL_CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
`;

/** P-256 keys: generated in milliseconds (RSA takes long on a small machine), and Go accepts them everywhere here. */
async function newKey(path: string): Promise<void> {
  await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
}

/**
 * A throwaway CA, the apiserver's serving certificate (for 127.0.0.1 and localhost, plus the
 * in-cluster names clients may verify) and the service-account key pair, all made with openssl
 * in `dir`. Valid for a week: long enough for a control plane started by hand.
 */
export async function makeCertificates(dir: string, serviceIp: string): Promise<ControlPlaneCertificates> {
  const p = (name: string) => join(dir, name);
  await writeFile(p('openssl.cnf'), OPENSSL_CONFIG);
  await Promise.all([newKey(p('ca.key')), newKey(p('apiserver.key')), newKey(p('sa.key'))]);
  await run('openssl', [
    ...['req', '-new', '-x509', '-config', p('openssl.cnf'), '-extensions', 'ca', '-days', '7'],
    ...['-subj', '/CN=ipa-test-ca', '-key', p('ca.key'), '-out', p('ca.crt')],
  ]);
  await run('openssl', [
    'req',
    '-new',
    '-config',
    p('openssl.cnf'),
    '-subj',
    '/CN=kube-apiserver',
    '-key',
    p('apiserver.key'),
    '-out',
    p('apiserver.csr'),
  ]);
  const names = ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'];
  await writeFile(
    p('apiserver.ext'),
    [
      'basicConstraints = critical,CA:FALSE',
      'keyUsage = critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage = serverAuth',
      `subjectAltName = IP:127.0.0.1,DNS:localhost,IP:${serviceIp},${names.map((n) => `DNS:${n}`).join(',')}`,
      '',
    ].join('\n'),
  );
  await run('openssl', [
    ...[
      'x509',
      '-req',
      '-in',
      p('apiserver.csr'),
      '-CA',
      p('ca.crt'),
      '-CAkey',
      p('ca.key'),
      '-set_serial',
      `0x${Date.now().toString(16)}`,
    ],
    ...['-days', '7', '-extfile', p('apiserver.ext'), '-out', p('apiserver.crt')],
  ]);
  await run('openssl', ['pkey', '-in', p('sa.key'), '-pubout', '-out', p('sa.pub')]);
  return {
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    serverCert: p('apiserver.crt'),
    serverKey: p('apiserver.key'),
    serviceAccountKey: p('sa.key'),
    serviceAccountPublicKey: p('sa.pub'),
  };
}
