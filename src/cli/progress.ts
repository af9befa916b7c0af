/** A one-line progress bar on stderr: redrawn in place on a terminal, a line every few seconds otherwise. */
export function progressBar(label: string): (done: number, total: number, detail: string) => void {
  const started = Date.now();
  let lastLine = 0;
  return (done, total, detail) => {
    const now = Date.now();
    const share = total > 0 ? done / total : 0;
    const eta = share > 0 ? ((now - started) / share - (now - started)) / 1000 : Number.NaN;
    const width = 30;
    const bar = '#'.repeat(Math.round(share * width)).padEnd(width, '.');
    const text = `${label} [${bar}] ${(share * 100).toFixed(1)}% ${detail} ETA ${Number.isFinite(eta) ? `${Math.round(eta)} s` : '?'}`;
    if (process.stderr.isTTY) {
      process.stderr.write(`\r${text}`);
      if (done >= total) process.stderr.write('\n');
    } else if (now - lastLine > 10_000 || done >= total) {
      lastLine = now;
      process.stderr.write(`${text}\n`);
    }
  };
}
