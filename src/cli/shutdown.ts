/**
 * Settles on the first SIGINT, SIGTERM or SIGHUP. A signal again more than a second later exits at once,
 * for a user whose Ctrl-C did not seem to work; within that second it is the same Ctrl-C arriving
 * twice (the terminal signals the whole group, and npm forwards it once more).
 */
export function shutdownSignal(onSignal?: (signal: NodeJS.Signals) => void): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let firstAt: number | undefined;
    const handler = (signal: NodeJS.Signals) => {
      if (firstAt !== undefined) {
        if (Date.now() - firstAt > 1000) process.exit(130);
        return;
      }
      firstAt = Date.now();
      onSignal?.(signal);
      resolve(signal);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
    // A closed terminal: stop the server too, or it is left behind for the next start to find.
    process.on('SIGHUP', handler);
  });
}
