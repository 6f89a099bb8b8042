import { createAdaptVariants } from './adapt-variants';
import type { ActivityDeps } from './deps';
import { createGenerateText } from './generate-text';
import { createIllustrate } from './illustrate';
import { createPublishPost } from './publish-post';
import { createReviewEdits } from './review-edits';
import { createSaveState } from './save-state';

export type { ActivityDeps } from './deps';

export function createActivities(deps: ActivityDeps) {
  return {
    generateText: createGenerateText(deps),
    illustrate: createIllustrate(deps),
    adaptVariants: createAdaptVariants(deps),
    reviewEdits: createReviewEdits(deps),
    saveState: createSaveState(deps),
    publishPost: createPublishPost(deps),
  };
}
export type Activities = ReturnType<typeof createActivities>;
