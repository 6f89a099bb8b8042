import { createAdaptVariants } from './adapt-variants';
import { createCreateScheduledPipeline } from './create-scheduled-pipeline';
import type { ActivityDeps } from './deps';
import { createGenerateText } from './generate-text';
import { createIllustrateWith } from './illustrate-with';
import { createPlanProviders } from './plan-providers';
import { createPublishPost } from './publish-post';
import { createListExpiringAccounts, createNoteExpiringAccounts, createRefreshAccountToken } from './refresh-account';
import { createReviewEdits } from './review-edits';
import { createSaveState } from './save-state';
import { createDeliverWebhook, createGiveUpWebhookDelivery } from './webhooks';

export type { ActivityDeps, AiCache, ProviderGuard } from './deps';

export function createActivities(deps: ActivityDeps) {
  return {
    planProviders: createPlanProviders(deps),
    generateText: createGenerateText(deps),
    illustrateWith: createIllustrateWith(deps),
    adaptVariants: createAdaptVariants(deps),
    reviewEdits: createReviewEdits(deps),
    saveState: createSaveState(deps),
    publishPost: createPublishPost(deps),
    refreshAccountToken: createRefreshAccountToken(deps),
    listExpiringAccounts: createListExpiringAccounts(deps),
    noteExpiringAccounts: createNoteExpiringAccounts(deps),
    deliverWebhook: createDeliverWebhook(deps),
    giveUpWebhookDelivery: createGiveUpWebhookDelivery(deps),
    createScheduledPipeline: createCreateScheduledPipeline(deps),
  };
}
export type Activities = ReturnType<typeof createActivities>;
