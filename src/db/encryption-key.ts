import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';

/** TOKEN_ENCRYPTION_KEY, or in development a key generated once under the data directory. */
export async function resolveEncryptionKey(configured: Buffer | undefined, dataDir: string, logger: Logger): Promise<Buffer> {
  if (configured) return configured;
  const file = path.resolve(dataDir, 'encryption.key');
  try {
    const existing = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
    if (existing.length === 32) return existing;
  } catch {
    // not there yet
  }
  const key = randomBytes(32);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' }).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  const stored = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
  logger.warn({ file }, 'TOKEN_ENCRYPTION_KEY is not set: using a development key stored in the data directory; set it in production');
  return stored;
}
