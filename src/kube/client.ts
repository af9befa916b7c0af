import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';

let config: KubeConfig | undefined;

/** The cluster of KUBECONFIG (or ~/.kube/config, or the pod's service account), loaded once per process. */
function kubeConfig(): KubeConfig {
  if (!config) {
    config = new KubeConfig();
    config.loadFromDefault();
  }
  return config;
}

let apps: AppsV1Api | undefined;
let core: CoreV1Api | undefined;

export function appsApi(): AppsV1Api {
  apps ??= kubeConfig().makeApiClient(AppsV1Api);
  return apps;
}

/** Nodes and pods: the room a rollout has. */
export function coreApi(): CoreV1Api {
  core ??= kubeConfig().makeApiClient(CoreV1Api);
  return core;
}
