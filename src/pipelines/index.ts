export { createPipeline, type CreatedPipeline, type PipelineCreationDeps, type PipelineSource } from './create-pipeline';
export { BacklogFullError, IdempotencyKeyReusedError, PipelineNotStartedError, TargetAccountError } from './errors';
export { checkTargetAccounts } from './target-accounts';
