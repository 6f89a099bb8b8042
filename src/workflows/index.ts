export { contentPipeline } from './content-pipeline';
export { publishTarget } from './publish-target';
export { refreshAccountNow, refreshExpiringTokens } from './token-refresh';
export { scheduledPipeline } from './scheduled-pipeline';
export { webhookDelivery } from './webhook-delivery';
