export { contentPipeline } from './content-pipeline';
export { publishTarget } from './publish-target';
