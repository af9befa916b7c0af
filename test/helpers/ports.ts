export { freePort } from '../../src/freePort.js';
