export { adaptPipeline } from './adaptPipeline.js';
export { ping } from './ping.js';
export { profilePipeline } from './profilePipeline.js';
export { profileVariant } from './profileVariant.js';
