import { readFile, rename, writeFile } from 'node:fs/promises';
import { ValidationError } from '../model/validation.js';

/** Reads a JSON file; a missing file or a syntax error becomes a ValidationError naming the file. */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ValidationError(path, [{ path: '', message: code === 'ENOENT' ? 'file not found' : String(err) }]);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ValidationError(path, [{ path: '', message: `not valid JSON: ${(err as Error).message}` }]);
  }
}

/** Writes JSON through a temporary file so a reader never sees half a file. */
export async function writeJsonFile(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value, null, 1)}\n`);
  await rename(tmp, path);
}
