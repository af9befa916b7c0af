// By hand: `node dist/test/infra/controlPlaneMain.js` starts the test control plane, prints how
// to reach it and keeps it until Ctrl-C (SIGINT), SIGTERM or SIGHUP, then stops it and removes its
// folder. The components run in process groups of their own, so Ctrl-C reaches only this process.
import { startControlPlane } from './controlPlane.js';

const cp = await startControlPlane({ workerUser: 'ipa-worker' });
process.stdout.write(
  [
    `kubeconfig: ${cp.kubeconfigPath}`,
    `server: ${cp.server}`,
    `admin token: ${cp.adminToken}`,
    `worker token (user ipa-worker, no RBAC bindings): ${cp.workerToken}`,
    `export KUBECONFIG=${cp.kubeconfigPath}`,
    'Ctrl-C stops it.',
    '',
  ].join('\n'),
);
const signal = await new Promise<NodeJS.Signals>((resolve) => {
  process.once('SIGINT', resolve);
  process.once('SIGTERM', resolve);
  process.once('SIGHUP', resolve);
});
process.stdout.write(`${signal}: stopping the control plane\n`);
await cp.stop();
