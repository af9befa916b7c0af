export { adaptPipeline } from './adaptPipeline.js';
export { ping } from './ping.js';
