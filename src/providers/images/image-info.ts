// Type and size of an image read from its own bytes, never trusted from an API.
import { PermanentError } from '../errors';

export interface ImageInfo {
  contentType: string;
  width: number;
  height: number;
}

/** Type and size from the image's own header: PNG IHDR, JPEG SOFn, GIF screen descriptor, WebP VP8/VP8L/VP8X. */
export function imageInfo(bytes: Buffer): ImageInfo | undefined {
  if (bytes.length >= 24 && bytes.readUInt32BE(0) === 0x89504e47 && bytes.readUInt32BE(4) === 0x0d0a1a0a && bytes.toString('latin1', 12, 16) === 'IHDR') {
    return sized('image/png', bytes.readUInt32BE(16), bytes.readUInt32BE(20));
  }
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8) return jpegInfo(bytes);
  if (bytes.length >= 10 && /^GIF8[79]a$/.test(bytes.toString('latin1', 0, 6))) {
    return sized('image/gif', bytes.readUInt16LE(6), bytes.readUInt16LE(8));
  }
  if (bytes.length >= 30 && bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP') {
    const chunk = bytes.toString('latin1', 12, 16);
    if (chunk === 'VP8 ' && bytes[23] === 0x9d && bytes[24] === 0x01 && bytes[25] === 0x2a) {
      return sized('image/webp', bytes.readUInt16LE(26) & 0x3fff, bytes.readUInt16LE(28) & 0x3fff);
    }
    if (chunk === 'VP8L' && bytes[20] === 0x2f) {
      const b = bytes.readUInt32LE(21);
      return sized('image/webp', (b & 0x3fff) + 1, ((b >> 14) & 0x3fff) + 1);
    }
    if (chunk === 'VP8X') return sized('image/webp', bytes.readUIntLE(24, 3) + 1, bytes.readUIntLE(27, 3) + 1);
  }
  return undefined;
}

function sized(contentType: string, width: number, height: number): ImageInfo | undefined {
  return width > 0 && height > 0 ? { contentType, width, height } : undefined;
}

function jpegInfo(bytes: Buffer): ImageInfo | undefined {
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1];
    if (marker === 0xff) {
      i += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2; // markers without a length
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return undefined; // end of image, or scan data before any frame header
    const length = bytes.readUInt16BE(i + 2);
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (i + 9 > bytes.length) return undefined;
      return sized('image/jpeg', bytes.readUInt16BE(i + 7), bytes.readUInt16BE(i + 5));
    }
    i += 2 + length;
  }
  return undefined;
}

/** Checks that bytes are an image whose size can be read; a PermanentError otherwise. */
export function asImage(provider: string, what: string, bytes: Buffer): ImageInfo {
  const info = imageInfo(bytes);
  if (!info) throw new PermanentError(provider, `${what} is not a PNG, JPEG, GIF or WebP image (${bytes.length} bytes)`);
  return info;
}
