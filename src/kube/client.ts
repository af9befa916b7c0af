import { AppsV1Api, KubeConfig } from '@kubernetes/client-node';

let apps: AppsV1Api | undefined;

/** The cluster of KUBECONFIG (or ~/.kube/config, or the pod's service account), one client per process. */
export function appsApi(): AppsV1Api {
  if (!apps) {
    const config = new KubeConfig();
    config.loadFromDefault();
    apps = config.makeApiClient(AppsV1Api);
  }
  return apps;
}
