import { adaptForPlatform } from '../domain/adapt';
import type { Content, ContentFormat, Platform, Variant } from '../domain/types';
import type { ActivityDeps } from './deps';

export interface AdaptVariantsArgs {
  content: Content;
  format: ContentFormat;
  platforms: Platform[];
}

export function createAdaptVariants({ adaptOptions }: Pick<ActivityDeps, 'adaptOptions'>) {
  /** One variant per distinct platform, counted and cut the platform's own way. */
  return async function adaptVariants({ content, format, platforms }: AdaptVariantsArgs): Promise<Variant[]> {
    return [...new Set(platforms)].map((platform) =>
      adaptForPlatform({ title: content.title, body: content.body, hashtags: content.hashtags, format, platform }, adaptOptions),
    );
  };
}
