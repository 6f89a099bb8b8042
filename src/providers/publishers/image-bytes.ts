// The bytes of a pipeline's image, fetched from its public URL for platforms that take uploads, and their form parts.
import type { Platform } from '../../domain/types';
import { PermanentError, TransientError } from '../errors';
import { httpRequest } from '../http';
import type { PublishInput } from './types';

/** Largest image fetched for an upload (X and Bluesky accept far less; the platform refuses what it does not take). */
export const MAX_IMAGE_BYTES = 20 * 1024 * 1024;

export interface FetchedImage {
  bytes: Buffer;
  contentType: string;
}

/** The bytes of an image at its public URL. 4xx -> PermanentError, 5xx, 408, 429 and no answer -> TransientError. */
export async function fetchImage(
  provider: Platform,
  image: PublishInput['images'][number],
  opts: { timeoutMs: number; signal?: AbortSignal },
): Promise<FetchedImage> {
  const what = `fetching image ${image.id}`;
  const answer = await httpRequest(image.url, { method: 'GET' }, { provider, what, timeoutMs: opts.timeoutMs, signal: opts.signal, maxBytes: MAX_IMAGE_BYTES });
  const { status, bytes } = answer;
  if (status >= 500 || status === 408 || status === 429) throw new TransientError(provider, `${what} answered HTTP ${status}`, status);
  if (!answer.ok) throw new PermanentError(provider, `${what} answered HTTP ${status}`, status);
  if (bytes.length === 0) throw new PermanentError(provider, `image ${image.id} is empty`);
  const header = answer.headers.get('content-type')?.split(';')[0]?.trim();
  const contentType = image.contentType || (header && header.startsWith('image/') ? header : 'application/octet-stream');
  return { bytes, contentType };
}

/** A Blob for FormData from bytes. */
export function blobOf(bytes: Buffer, contentType: string): Blob {
  // A Buffer never sits on a SharedArrayBuffer; the DOM typing of Blob (which preact's types bring in) wants that said.
  return new Blob([new Uint8Array(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength)], { type: contentType });
}

export function fileNameFor(imageId: string, contentType: string): string {
  const ext = contentType.split('/')[1]?.replace(/[^a-z0-9]/gi, '') || 'bin';
  return `${imageId.replace(/[^A-Za-z0-9._-]/g, '_') || 'image'}.${ext === 'jpeg' ? 'jpg' : ext}`;
}
