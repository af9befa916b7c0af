import { TestWorkflowEnvironment } from '@temporalio/testing';
import { findTemporalCli } from '../../src/temporal/cliBinary.js';
import { SEARCH_ATTRIBUTE_KEYS } from '../../src/workflows/searchAttributes.js';

/** A real Temporal dev server from the project's own CLI binary (no download by the SDK). */
export async function startTestServer(): Promise<TestWorkflowEnvironment> {
  const path = await findTemporalCli();
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path },
      ip: '127.0.0.1',
      searchAttributes: SEARCH_ATTRIBUTE_KEYS,
    },
  });
}
