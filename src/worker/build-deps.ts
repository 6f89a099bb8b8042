import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { ActivityDeps } from '../activities';
import type { Config } from '../config';
import { createAccountRepository } from '../db/accounts-repo';
import { createMediaRepository } from '../db/media-repo';
import { createPipelineRepository } from '../db/pipelines-repo';
import { createSecretBox } from '../db/secret-box';
import { createCardImageSource } from '../providers/images/card';
import { createPublishers } from '../providers/publishers';
import { createOfflineTextGenerator } from '../providers/text/offline';

/** Builds every provider and repository the activities use. Called by entry points only. */
export function buildActivityDeps(config: Config, pool: Pool, encryptionKey: Buffer, logger: Logger): ActivityDeps {
  return {
    pipelines: createPipelineRepository(pool),
    media: createMediaRepository(pool),
    accounts: createAccountRepository(pool, createSecretBox(encryptionKey)),
    textGenerators: [createOfflineTextGenerator()],
    imageSources: [createCardImageSource()],
    publishers: createPublishers(config.publishers),
    adaptOptions: { instagramHashtagCap: config.instagramMaxHashtags },
    publicBaseUrl: config.publicBaseUrl,
    mediaIdSecret: encryptionKey,
    logger,
  };
}
