import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM envelopes for credentials at rest: "v1:<keyId>:<iv>:<tag>:<ciphertext>" (base64url parts).
 * The key id is derived from the key itself, so a rotated key can sit beside the old one while rows are re-encrypted.
 */
export interface SecretBox {
  readonly keyId: string;
  seal(plain: unknown): string;
  open<T = unknown>(envelope: string): T;
}

export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 8);
}

export function createSecretBox(current: Buffer, previous: Buffer[] = []): SecretBox {
  const keys = new Map<string, Buffer>();
  for (const k of [current, ...previous]) keys.set(keyIdOf(k), k);
  const keyId = keyIdOf(current);
  return {
    keyId,
    seal(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', current, iv);
      const data = Buffer.concat([cipher.update(JSON.stringify(plain), 'utf8'), cipher.final()]);
      return ['v1', keyId, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), data.toString('base64url')].join(':');
    },
    open<T>(envelope: string): T {
      const [version, id, iv, tag, data] = envelope.split(':');
      if (version !== 'v1' || !id || !iv || !tag || data === undefined) throw new Error('credentials envelope is not in a known format');
      const key = keys.get(id);
      if (!key) throw new Error(`credentials were sealed with key ${id}, which is not configured`);
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      const plain = Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]);
      return JSON.parse(plain.toString('utf8')) as T;
    },
  };
}
