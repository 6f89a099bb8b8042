import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A development key for tenant "dev", made once and kept under the data directory (`npm start` without API_KEYS). */
export async function devApiKey(dataDir: string): Promise<string> {
  const file = path.resolve(dataDir, 'dev-api-key');
  try {
    const key = (await readFile(file, 'utf8')).trim();
    if (key) return key;
  } catch {
    // first start
  }
  const key = `hk_dev_${randomBytes(18).toString('base64url')}`;
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, key + '\n', { mode: 0o600 });
  return key;
}
