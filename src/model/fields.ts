import { z } from 'zod';

/** Names that become Kubernetes object names and labels: DNS-1123 labels. */
export const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be lower-case letters, digits and "-" (a DNS label)')
  .max(63);

/** Model variant names keep the spelling of their source (resnet18, fasterrcnn_resnet50_fpn). */
export const variantName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be letters, digits, ".", "_" or "-"');

export const positiveNumber = z.number().positive();
export const nonNegativeNumber = z.number().nonnegative();
export const positiveInt = z.int().positive();
export const nonNegativeInt = z.int().nonnegative();

/** The latency percentile an SLA is checked against. */
export const percentile = z.enum(['p50', 'p95', 'p99']);
export type Percentile = z.infer<typeof percentile>;

/**
 * A refinement for a spec or an instance: the serving path's `overheadMs` must leave the stages
 * some of the SLA, since the solvers give them `slaMs − overheadMs`.
 */
export function overheadWithinSla(value: { slaMs: number; overheadMs?: number | undefined }, ctx: z.RefinementCtx): void {
  if ((value.overheadMs ?? 0) < value.slaMs) return;
  ctx.addIssue({
    code: 'custom',
    path: ['overheadMs'],
    message: `overheadMs ${value.overheadMs} leaves nothing of slaMs ${value.slaMs} for the stages`,
  });
}

/**
 * A refinement for arrays whose items must differ in `keyOf`: reports each repeat at its own
 * index, naming where the key was first seen.
 */
export function noDuplicates<T>(what: string, keyOf: (item: T) => string, options: { arrayPath: string; field?: string }) {
  return (items: T[], ctx: z.RefinementCtx) => {
    const first = new Map<string, number>();
    items.forEach((item, i) => {
      const key = keyOf(item);
      const seen = first.get(key);
      if (seen === undefined) {
        first.set(key, i);
        return;
      }
      const where = options.field === undefined ? '' : ` (first at ${options.arrayPath}[${seen}])`;
      ctx.addIssue({
        code: 'custom',
        path: options.field === undefined ? [i] : [i, options.field],
        message: `duplicate ${what} ${JSON.stringify(key)}${where}`,
        input: key,
      });
    });
  };
}
