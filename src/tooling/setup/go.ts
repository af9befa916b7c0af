import { onPathOr } from '../pypiBinary.js';

/** The Go toolchain that builds kustomize, the Kubernetes binaries and kwok: GO_BIN, PATH, or Go's default install. */
export async function goBinary(): Promise<string | undefined> {
  return process.env.GO_BIN ?? (await onPathOr('go', '/usr/local/go/bin/go'));
}
