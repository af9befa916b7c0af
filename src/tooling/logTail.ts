import { readFile } from 'node:fs/promises';

/** The last `lines` lines of a server's log, for an error saying why it did not come up; empty when there is none. */
export async function logTail(file: string, lines = 20): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
