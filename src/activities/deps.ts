import type { Logger } from 'pino';
import type { AdaptOptions } from '../domain/adapt';
import type { Platform } from '../domain/types';
import type { AccountRepository } from '../db/accounts-repo';
import type { MediaRepository } from '../db/media-repo';
import type { PipelineRepository } from '../db/pipelines-repo';
import type { ImageSource } from '../providers/images/types';
import type { Publisher } from '../providers/publishers/types';
import type { TextGenerator } from '../providers/text/types';

/** Everything activities need, built once by the worker entry point. */
export interface ActivityDeps {
  pipelines: PipelineRepository;
  media: MediaRepository;
  accounts: AccountRepository;
  textGenerators: TextGenerator[];
  imageSources: ImageSource[];
  publishers: Record<Platform, Publisher>;
  adaptOptions: AdaptOptions;
  /** Absolute base for media URLs that platforms fetch. */
  publicBaseUrl: string;
  /** Keys media ids so they are unguessable yet stable across activity retries. */
  mediaIdSecret: Buffer;
  logger: Logger;
}
