import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot } from '../../src/common/paths.js';
import { loadAllProfileSets, resolveProfileSet } from '../../src/io/load.js';
import { convertMeasuredProfiles } from '../../src/model/measuredProfiles.js';
import { parseProfileSet, profileSetVersion, withVersion } from '../../src/model/profileSet.js';
import { ValidationError } from '../../src/model/validation.js';
import { profileSetJson } from '../helpers/files.js';

/** Asserts that parsing fails with exactly one issue at `path` whose message contains `text`. */
function rejects(input: unknown, path: string, text: string) {
  assert.throws(
    () => parseProfileSet(input),
    (err: unknown) => {
      assert.ok(err instanceof ValidationError, String(err));
      const issue = err.issues.find((i) => i.path === path);
      assert.ok(issue, `no issue at ${path}; got ${err.message}`);
      assert.match(issue.message, new RegExp(text));
      assert.ok(err.message.includes(`${path}: `), err.message);
      return true;
    },
  );
}

/** Mutates a valid set and restamps its version, so only the intended defect remains. */
function broken(mutate: (set: any) => void): unknown {
  const set = profileSetJson();
  mutate(set);
  set.version = profileSetVersion(set);
  return set;
}

describe('profile set', () => {
  it('loads every committed set, with a version equal to its content hash', async () => {
    const sets = await loadAllProfileSets();
    assert.ok(sets.length >= 1);
    for (const set of sets) assert.equal(set.version, profileSetVersion(set));
    const h200 = sets.find((s) => s.name === 'measured-h200');
    assert.ok(h200);
    assert.equal(h200.variants.length, 16);
    assert.deepEqual(
      h200.shapes.map((s) => s.name),
      ['cpu-1', 'cpu-2', 'cpu-4', 'cpu-8', 'gpu-h200'],
    );
  });

  it('a name means the newest set measured on a host like this one, else the newest of any host', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ipa-sets-'));
    try {
      const set = (file: string, measuredAt: string, cpu: string) => {
        const content = profileSetJson();
        content.name = 'bench';
        content.source = { host: { vm: { name: 'vm', cpu, cores: 2, memoryGiB: 8 } }, measuredAt };
        const stamped = withVersion(content);
        return writeFile(join(dir, file), JSON.stringify(stamped)).then(() => stamped.version);
      };
      const here = await set('bench.a.json', '2026-12-03T00:00:00Z', 'AMD EPYC');
      const other = await set('bench.b.json', '2026-12-04T00:00:00Z', 'Intel(R) Xeon(R) Processor');
      const amd = { cpu: 'AMD EPYC', cores: 2 };
      assert.equal((await resolveProfileSet('bench', dir, amd)).version, here, 'the older set of this host');
      assert.equal((await resolveProfileSet('bench', dir, { ...amd, cores: 4 })).version, other, 'no set of a 4-core AMD: the newest');
      assert.equal((await resolveProfileSet('bench', dir, { cpu: 'Intel(R) Xeon(R) Processor', cores: 2 })).version, other);
      assert.equal(
        (await resolveProfileSet(here, dir, { cpu: 'Intel(R) Xeon(R) Processor', cores: 2 })).version,
        here,
        'a version pins one',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is what converting the shared reference measurements gives', () => {
    // A copy of ../shared/measured-profiles/variant-profiles.json (test/fixtures/README.md).
    const measured = JSON.parse(readFileSync(join(projectRoot, 'test', 'fixtures', 'measured-profiles', 'variant-profiles.json'), 'utf8'));
    const committed = parseProfileSet(profileSetJson());
    const converted = convertMeasuredProfiles(measured, { name: 'measured-h200', gpuShapeCpu: 4, measuredAt: '2026-11' });
    assert.equal(converted.version, committed.version);
    const resnet50 = converted.variants.find((v) => v.variant === 'resnet50');
    const gpuRow = resnet50?.profiles.find((p) => p.shape === 'gpu-h200')?.rows[0];
    const source = measured.variants.find((v: any) => v.variant === 'resnet50').gpu[0];
    assert.equal(gpuRow?.p99Ms, source.p99_ms);
    assert.equal(gpuRow?.throughputRps, source.throughput_rps);
  });

  it('rejects a NaN latency, naming the field and the value', () => {
    rejects(
      broken((s) => {
        s.variants[6].profiles[0].rows[1].p99Ms = Number.NaN;
      }),
      'variants[6].profiles[0].rows[1].p99Ms',
      'NaN',
    );
  });

  it('rejects batch rows out of order', () => {
    rejects(
      broken((s) => {
        const rows = s.variants[6].profiles[0].rows;
        [rows[1], rows[2]] = [rows[2], rows[1]];
      }),
      'variants[6].profiles[0].rows[2].batch',
      'increasing order, got batch 2 after 4',
    );
  });

  it('rejects a duplicate variant', () => {
    rejects(
      broken((s) => {
        s.variants.push(structuredClone(s.variants[6]));
      }),
      'variants[16].variant',
      'duplicate variant "resnet18" \\(first at variants\\[6\\]\\)',
    );
  });

  it('rejects unknown fields', () => {
    rejects(
      broken((s) => {
        s.variants[0].latency = 3;
      }),
      'variants[0].latency',
      'unknown field',
    );
  });

  it('rejects a profile on a shape the set does not define', () => {
    rejects(
      broken((s) => {
        s.variants[6].profiles[0].shape = 'cpu-64';
      }),
      'variants[6].profiles[0].shape',
      'unknown shape "cpu-64"',
    );
  });

  it('rejects decreasing percentiles and non-positive throughput', () => {
    rejects(
      broken((s) => {
        s.variants[6].profiles[0].rows[0].p99Ms = 1;
      }),
      'variants[6].profiles[0].rows[0].p99Ms',
      'percentiles must not decrease',
    );
    rejects(
      broken((s) => {
        s.variants[6].profiles[0].rows[0].throughputRps = 0;
      }),
      'variants[6].profiles[0].rows[0].throughputRps',
      'got 0',
    );
  });

  it('rejects content edited without a new version', () => {
    const set = profileSetJson();
    set.variants[6].accuracy = 99;
    rejects(set, 'version', 'does not match the content hash');
  });

  it('hashes content, not key order', () => {
    const set = parseProfileSet(profileSetJson());
    const reordered = Object.fromEntries(Object.entries(set).reverse());
    assert.equal(profileSetVersion(reordered as typeof set), set.version);
    assert.equal(withVersion(set).version, set.version);
  });
});
