import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { parseQueueNames, TASK_QUEUES } from '../temporal/taskQueues.js';
import { ping } from '../workflows/ping.js';
import { withClient } from './client.js';

export function registerPingCommand(program: Command): void {
  program
    .command('ping')
    .description('run a round trip through the workers: a workflow on ipa-adapt and an activity on --queue')
    .option('--queue <name>', 'queue whose worker runs the activity (adapt, profile-cpu, profile-gpu)', 'adapt')
    .option('--timeout <seconds>', 'give up after this long', '30')
    .option('--json', 'print the result as JSON (the default when stdout is not a terminal)')
    .action(async (opts: { queue: string; timeout: string; json?: boolean }) => {
      const [queue] = parseQueueNames(opts.queue);
      await withClient(async (client) => {
        const startedAt = Date.now();
        const result = await client.workflow.execute(ping, {
          taskQueue: TASK_QUEUES.adapt,
          workflowId: `ipa-ping-${randomUUID()}`,
          args: [{ activityQueue: TASK_QUEUES[queue ?? 'adapt'] }],
          workflowExecutionTimeout: `${Number(opts.timeout)}s`,
        });
        const worker = result.activityWorker;
        process.stdout.write(
          opts.json || !process.stdout.isTTY
            ? `${JSON.stringify(result, null, 2)}\n`
            : `ok in ${Date.now() - startedAt} ms: workflow on ${result.workflowQueue}, activity on ${worker.taskQueue} ` +
                `by ipa ${worker.ipaVersion} (pid ${worker.pid} on ${worker.hostname}, node ${worker.node})\n`,
        );
      });
    });
}
