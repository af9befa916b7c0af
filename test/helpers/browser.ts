import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { CHROMIUM_ARGS, DEBIAN_CHROMIUM } from '../../src/tooling/setup/chromium.js';

/** Why a browser test cannot run here, if it cannot (`ipa setup` installs the browser). */
export function noChromium(): string | undefined {
  return existsSync(DEBIAN_CHROMIUM)
    ? undefined
    : `${DEBIAN_CHROMIUM} is absent: run \`npx ipa setup\` as root to install Debian's chromium`;
}

/** Headless Debian Chromium with a fresh profile, removed again by `close()`. */
export async function launchChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'ipa-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: DEBIAN_CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 1000 },
    });
    return {
      context,
      close: async () => {
        await context.close();
        await rm(userDataDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(userDataDir, { recursive: true, force: true });
    throw err;
  }
}
