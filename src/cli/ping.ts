import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { parseQueueNames, TASK_QUEUES } from '../taskQueues.js';
import { ping } from '../workflows/ping.js';
import { withClient } from './client.js';

export function registerPingCommand(program: Command): void {
  program
    .command('ping')
    .description('run a round trip through the workers: a workflow on ipa-adapt and an activity on --queue')
    .option('--queue <name>', 'queue whose worker runs the activity (adapt, profile-cpu, profile-gpu)', 'adapt')
    .option('--timeout <seconds>', 'give up after this long', '30')
    .action(async (opts: { queue: string; timeout: string }) => {
      const [queue] = parseQueueNames(opts.queue);
      await withClient(async (client) => {
        const result = await client.workflow.execute(ping, {
          taskQueue: TASK_QUEUES.adapt,
          workflowId: `ipa-ping-${randomUUID()}`,
          args: [{ activityQueue: TASK_QUEUES[queue ?? 'adapt'] }],
          workflowExecutionTimeout: `${Number(opts.timeout)}s`,
        });
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      });
    });
}
