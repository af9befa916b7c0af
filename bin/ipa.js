#!/usr/bin/env node
// The CLI runs from the compiled tree; `npm ci` builds it (prepare), `npm run build` rebuilds it.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('ipa: not built yet; run `npm run build` (npm ci does it for you)\n');
  process.exit(1);
}
await import(entry.href);
