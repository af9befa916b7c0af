import type { Command } from 'commander';
import { ensureTestbed } from '../profiling/testbed.js';
import { findTemporalCli, findTemporalTestServer, temporalCliVersion } from '../tooling/cliBinary.js';
import { chromiumVersion, findChromium } from '../tooling/setup/chromium.js';
import { etcdVersion, findKubernetesBinaries } from '../tooling/setup/kubernetes.js';
import { findKustomize } from '../tooling/setup/kustomize.js';
import { findPostgres } from '../tooling/setup/postgres.js';
import { findPrometheus, prometheusVersion } from '../tooling/setup/prometheus.js';
import { findTemporalServer } from '../tooling/setup/temporalServer.js';

export function registerSetupCommand(program: Command): void {
  program
    .command('setup')
    .description(
      'find or install the tools ipa runs locally (Temporal CLI and time-skipping test server, the Temporal server ' +
        'and PostgreSQL for the cluster tests, Prometheus, ' +
        'etcd, Kubernetes binaries and kustomize for the test control plane, the MLServer testbed, Chromium for the Web UI test) and print where they are',
    )
    .action(async () => {
      const temporal = await findTemporalCli();
      process.stdout.write(`temporal: ${temporal} (${await temporalCliVersion(temporal)})\n`);
      process.stdout.write(`temporal-test-server: ${await findTemporalTestServer()}\n`);
      const server = await findTemporalServer();
      process.stdout.write(`temporal-server: ${server.server} (${server.version}), schema tool ${server.sqlTool}\n`);
      const postgres = await findPostgres();
      process.stdout.write(`postgres: ${postgres.postgres} (${postgres.version})\n`);
      const prometheus = await findPrometheus();
      process.stdout.write(`prometheus: ${prometheus} (${await prometheusVersion(prometheus)})\n`);
      const k8s = await findKubernetesBinaries();
      process.stdout.write(`etcd: ${k8s.etcd} (${await etcdVersion(k8s.etcd)})\n`);
      for (const [name, path] of [
        ['kube-apiserver', k8s.kubeApiserver],
        ['kube-controller-manager', k8s.kubeControllerManager],
        ['kube-scheduler', k8s.kubeScheduler],
      ] as const) {
        process.stdout.write(`${name}: ${path} (${k8s.version})\n`);
      }
      process.stdout.write(`kwok: ${k8s.kwok}\n`);
      process.stdout.write(`kustomize: ${await findKustomize()}\n`);
      const testbed = await ensureTestbed();
      process.stdout.write(
        `testbed: ${testbed.mlserver} serving ${testbed.variants.map((v) => v.name).join(', ')} from ${testbed.modelsDir}\n`,
      );
      const chromium = await findChromium();
      process.stdout.write(`chromium: ${chromium} (${await chromiumVersion(chromium)})\n`);
    });
}
