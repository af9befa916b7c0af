import type { V1Node } from '@kubernetes/client-node';

/** kwok manages (heartbeats, runs the pods of) only nodes annotated so: see the kwok flags in controlPlane.ts. */
export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';
export const NODE_KIND_LABEL = 'ipa.io/node-kind';
export const GPU_RESOURCE = 'nvidia.com/gpu';

export interface NodeShape {
  name: string;
  kind: 'cpu' | 'gpu';
  cpu: string;
  memory: string;
  gpus?: number;
}

/** What the cluster tests plan against: 3 CPU nodes of 16 cores, 2 GPU nodes with 8 GPUs and 32 cores. */
export const DEFAULT_NODES: NodeShape[] = [
  ...[0, 1, 2].map((i): NodeShape => ({ name: `ipa-cpu-${i}`, kind: 'cpu', cpu: '16', memory: '64Gi' })),
  ...[0, 1].map((i): NodeShape => ({ name: `ipa-gpu-${i}`, kind: 'gpu', cpu: '32', memory: '128Gi', gpus: 8 })),
];

/**
 * Node objects for kwok: capacity is what the scheduler fits pods into, so it is set here, on
 * create; kwok's node-initialize stage keeps it and adds the conditions that make the node Ready.
 */
export function fakeNodes(shapes: NodeShape[] = DEFAULT_NODES): V1Node[] {
  return shapes.map((shape) => {
    const resources: Record<string, string> = { cpu: shape.cpu, memory: shape.memory, pods: '110' };
    if (shape.gpus !== undefined) resources[GPU_RESOURCE] = String(shape.gpus);
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: shape.name,
        annotations: { [KWOK_NODE_ANNOTATION]: 'fake' },
        labels: {
          [NODE_KIND_LABEL]: shape.kind,
          'kubernetes.io/hostname': shape.name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          type: 'kwok',
        },
      },
      status: { capacity: resources, allocatable: resources },
    };
  });
}
