export { freePort } from '../../src/tooling/freePort.js';
