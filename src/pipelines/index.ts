export { createPipeline, type CreatedPipeline, type CreationRequest, type PipelineCreationDeps, type PipelineSource, type WhenFull } from './create-pipeline';
export { BacklogFullError, DailyCapFullError, IdempotencyKeyReusedError, PipelineNotStartedError, TargetAccountError } from './errors';
export { checkTargetAccounts } from './target-accounts';
