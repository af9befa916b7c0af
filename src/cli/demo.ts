import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { log } from '../common/log.js';
import type { AdaptInputFields } from '../model/adaptInput.js';
import type { TemporalSettings } from '../temporal/connection.js';
import { TASK_QUEUES } from '../temporal/taskQueues.js';
import { adaptPipeline } from '../workflows/adaptPipeline.js';
import { IpaPipeline } from '../workflows/searchAttributes.js';
import { withClient } from './client.js';
import { ipaCommand } from './commandHints.js';

export const DEMO_WORKFLOW_ID = 'demo-video';

/** The IPA paper's bursty window (load-patterns.json), damped by 8 as IPA did, six times faster than real time. */
export const DEMO_INPUT: AdaptInputFields = {
  pipeline: 'video',
  intervalSeconds: 10,
  observe: { kind: 'trace', start: 1_301_160, speed: 6, damp: 8 },
  actuator: { kind: 'simulated' },
};

/**
 * Starts the demo loop on a fresh dev server, so a newcomer sees decisions in the Web UI within a
 * minute. On a server that kept its state the loop is already running and is left as it is.
 */
export async function startDemo(settings: TemporalSettings, uiUrl: string | undefined): Promise<void> {
  try {
    await withClient(
      (client) =>
        client.workflow.start(adaptPipeline, {
          args: [DEMO_INPUT],
          taskQueue: TASK_QUEUES.adapt,
          workflowId: DEMO_WORKFLOW_ID,
          typedSearchAttributes: [{ key: IpaPipeline, value: 'video' }],
        }),
      settings,
    );
    log.info({ workflowId: DEMO_WORKFLOW_ID }, 'demo started: the video pipeline on the bursty trace, simulated actuator');
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    log.info({ workflowId: DEMO_WORKFLOW_ID }, 'demo already running');
  }
  process.stderr.write(
    `  Demo: ${uiUrl ? `${uiUrl}/namespaces/${settings.namespace}/workflows/${DEMO_WORKFLOW_ID}` : DEMO_WORKFLOW_ID}  (a decision every 10 s; --no-demo turns it off)\n` +
      `        ${await ipaCommand(`adapt decisions --workflow-id ${DEMO_WORKFLOW_ID}`)}\n\n`,
  );
}
