import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { pipelinesDir, profileSetsDir } from '../common/paths.js';
import { readJsonFile, writeJsonFile } from '../io/jsonFile.js';
import { loadAllProfileSets, loadPipelineSpec, loadProfileSet, resolveProfileSet } from '../io/load.js';
import { convertMeasuredProfiles } from '../model/measuredProfiles.js';
import { type ProfileSet, withVersion } from '../model/profileSet.js';

/** Key order for files people read: identity first, then the tables. */
function forWriting(set: ProfileSet) {
  const { format, name, version, description, latencyPercentile, source, accuracyMetric, shapes, variants } = set;
  return { format, name, version, description, latencyPercentile, source, accuracyMetric, shapes, variants };
}

async function listJson(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[]))
    .filter((n) => n.endsWith('.json'))
    .sort()
    .map((n) => join(dir, n));
}

/**
 * Validates profile sets and pipeline specs; a spec is checked against the set it names. Reports
 * every file, then fails if any was invalid.
 */
async function validate(files: string[]): Promise<void> {
  const targets = files.length > 0 ? files : [...(await listJson(profileSetsDir)), ...(await listJson(pipelinesDir))];
  let failed = 0;
  for (const file of targets) {
    try {
      const json = (await readJsonFile(file)) as { format?: unknown; profiles?: unknown };
      if (json && typeof json === 'object' && 'format' in json) {
        const set = await loadProfileSet(file);
        process.stdout.write(
          `ok    ${file}  profile set ${set.name} ${set.version}: ${set.variants.length} variants, ${set.shapes.length} shapes\n`,
        );
      } else {
        const spec = await loadPipelineSpec(file);
        const set = spec.profiles ? await resolveProfileSet(spec.profiles) : undefined;
        if (set) await loadPipelineSpec(file, set);
        process.stdout.write(
          `ok    ${file}  pipeline ${spec.name}: ${spec.stages.map((s) => s.name).join(' → ')}${set ? ` (checked against ${set.name})` : ''}\n`,
        );
      }
    } catch (err) {
      failed += 1;
      process.stdout.write(`FAIL  ${(err as Error).message}\n`);
    }
  }
  if (failed > 0) throw new Error(`${failed} of ${targets.length} files invalid`);
}

export function registerProfilesCommand(program: Command): void {
  const profiles = program.command('profiles').description('profile sets and pipeline specs: list, validate, convert, rehash');

  profiles
    .command('list')
    .description('list the profile sets under profiles/sets/')
    .option('--dir <dir>', 'folder of profile sets', profileSetsDir)
    .action(async (opts: { dir: string }) => {
      for (const set of await loadAllProfileSets(opts.dir)) {
        const tasks = [...new Set(set.variants.map((v) => v.task))].join(', ');
        process.stdout.write(
          `${set.name}\t${set.version}\t${set.variants.length} variants (${tasks})\tshapes ${set.shapes.map((s) => s.name).join(',')}\n`,
        );
      }
    });

  profiles
    .command('validate')
    .argument('[files...]', 'profile sets and pipeline specs (default: everything under profiles/)')
    .description('check files against their schemas; specs also against the profile set they name')
    .action(validate);

  profiles
    .command('convert')
    .description('convert reference measurements (measured-profiles/variant-profiles.json) into a profile set')
    .requiredOption('--from <file>', 'measured profiles JSON')
    .requiredOption('--out <file>', 'profile set to write')
    .option('--name <name>', 'profile set name', 'measured-h200')
    .option('--gpu-cpu <cores>', 'host cores a GPU replica is given', '4')
    .option('--measured-at <date>', 'when the measurements were taken (ISO date)')
    .action(async (opts: { from: string; out: string; name: string; gpuCpu: string; measuredAt?: string }) => {
      const set = convertMeasuredProfiles(await readJsonFile(opts.from), {
        name: opts.name,
        gpuShapeCpu: Number(opts.gpuCpu),
        ...(opts.measuredAt ? { measuredAt: opts.measuredAt } : {}),
      });
      await writeJsonFile(opts.out, forWriting(set));
      process.stdout.write(`wrote ${opts.out}: ${set.name} ${set.version}, ${set.variants.length} variants from ${basename(opts.from)}\n`);
    });

  profiles
    .command('rehash')
    .argument('<file>', 'profile set edited by hand')
    .description('validate a profile set and set its version to the hash of its content')
    .action(async (file: string) => {
      const set = withVersion((await readJsonFile(file)) as ProfileSet, file);
      await writeJsonFile(file, forWriting(set));
      process.stdout.write(`${file}: ${set.version}\n`);
    });
}
