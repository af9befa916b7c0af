import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipelinesDir, profileSetsDir } from '../../src/common/paths.js';

/** A fresh, mutable copy of a committed profile set or pipeline spec, for tests that break it. */
export function profileSetJson(name = 'measured-h200'): any {
  return JSON.parse(readFileSync(join(profileSetsDir, `${name}.json`), 'utf8'));
}

export function pipelineJson(name: string): any {
  return JSON.parse(readFileSync(join(pipelinesDir, `${name}.json`), 'utf8'));
}
