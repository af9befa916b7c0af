import { seededRandom } from '../common/seededRandom.js';

/**
 * Uniform, exponential and normal draws from one seeded stream (src/seededRandom.ts), so a
 * simulation repeats exactly. A class with plain fields: the simulator draws in its hot loop, and
 * a monomorphic method call costs less than a closure per variate kind.
 */
export class RandomVariates {
  private readonly uniform01: () => number;
  /** Box–Muller yields normals in pairs; the second one waits here. */
  private spareNormal = Number.NaN;

  constructor(seed: number) {
    this.uniform01 = seededRandom(seed);
  }

  /** In (0, 1]: never 0, so its logarithm is finite. */
  uniform(): number {
    return 1 - this.uniform01();
  }

  exponential(mean: number): number {
    return -mean * Math.log(this.uniform());
  }

  normal(): number {
    const spare = this.spareNormal;
    if (!Number.isNaN(spare)) {
      this.spareNormal = Number.NaN;
      return spare;
    }
    const r = Math.sqrt(-2 * Math.log(this.uniform()));
    const angle = 2 * Math.PI * this.uniform01();
    this.spareNormal = r * Math.sin(angle);
    return r * Math.cos(angle);
  }
}
