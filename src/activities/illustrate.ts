import { createHmac } from 'node:crypto';
import type { ImageRef } from '../domain/types';
import type { ActivityDeps } from './deps';
import { mapFailures } from './failures';

export interface IllustrateArgs {
  tenantId: string;
  pipelineId: string;
  title: string;
  topic: string;
  keywords: string[];
  style?: string;
  /** The request's own chain; otherwise every configured source in order. */
  sources?: string[];
}

/** Walks the image chain: the first source that yields images wins; each skipped source says why. */
export function createIllustrate({ imageSources, media, mediaIdSecret, logger }: Pick<ActivityDeps, 'imageSources' | 'media' | 'mediaIdSecret' | 'logger'>) {
  return async function illustrate(args: IllustrateArgs): Promise<ImageRef[]> {
    const wanted = args.sources?.length ? args.sources : imageSources.map((s) => s.name);
    const skipped: string[] = [];
    for (const name of wanted) {
      const source = imageSources.find((s) => s.name === name);
      if (!source) {
        skipped.push(`${name}: not configured`);
        continue;
      }
      let found;
      try {
        found = await mapFailures(() => source.find({ title: args.title, topic: args.topic, keywords: args.keywords, style: args.style }));
      } catch (err) {
        skipped.push(`${name}: ${(err as Error).message}`);
        logger.warn({ source: name, err: (err as Error).message }, 'image source skipped');
        continue;
      }
      if (found.length === 0) {
        skipped.push(`${name}: no image found`);
        continue;
      }
      const refs: ImageRef[] = [];
      for (const [i, img] of found.entries()) {
        // Stable across retries, unguessable without the secret: safe to serve without authentication.
        const id = createHmac('sha256', mediaIdSecret).update(`${args.tenantId}:${args.pipelineId}:${name}:${i}`).digest('base64url').slice(0, 32);
        await media.put({
          id,
          tenantId: args.tenantId,
          pipelineId: args.pipelineId,
          contentType: img.contentType,
          bytes: img.bytes,
          width: img.width,
          height: img.height,
          source: img.source,
          alt: img.alt,
          attribution: img.attribution,
        });
        refs.push({
          id,
          url: `/v1/media/${id}`,
          source: img.source,
          alt: img.alt,
          attribution: img.attribution,
          fallbackReason: skipped.length ? skipped.join('; ') : null,
          width: img.width,
          height: img.height,
        });
      }
      return refs;
    }
    return [];
  };
}
