import type { CallContext } from '../rate-info';

/** Every image source Herald has, in its default order; `card` (a drawn title card) never fails and comes last. */
export const IMAGE_SOURCE_NAMES = ['openai', 'stability', 'unsplash', 'pexels', 'card'] as const;

export interface ImageRequest {
  title: string;
  topic: string;
  style?: string;
  /** Hashtags or keywords that may help a stock search. */
  keywords: string[];
}

export interface FoundImage {
  bytes: Buffer;
  contentType: string;
  width: number;
  height: number;
  source: string;
  alt: string;
  attribution: string | null;
}

/** Anything that finds or makes images for a piece. */
export interface ImageSource {
  readonly name: string;
  find(request: ImageRequest, ctx?: CallContext): Promise<FoundImage[]>;
}
