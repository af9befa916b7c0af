/** The task queues of ipa, by the short names the CLI takes (`--queues adapt,profile-cpu`). */
export const TASK_QUEUES = {
  adapt: 'ipa-adapt',
  'profile-cpu': 'ipa-profile-cpu',
  'profile-gpu': 'ipa-profile-gpu',
} as const;

export type QueueName = keyof typeof TASK_QUEUES;

export const QUEUE_NAMES = Object.keys(TASK_QUEUES) as QueueName[];

export function parseQueueNames(list: string): QueueName[] {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!(name in TASK_QUEUES)) {
      throw new Error(`--queues: unknown queue ${JSON.stringify(name)} (known: ${QUEUE_NAMES.join(', ')})`);
    }
  }
  if (names.length === 0) throw new Error(`--queues: empty list (known: ${QUEUE_NAMES.join(', ')})`);
  return [...new Set(names)] as QueueName[];
}
