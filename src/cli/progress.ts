import cliProgress from 'cli-progress';

/** A progress bar on stderr (stdout stays for results); a no-op when stderr is not a terminal. */
export function progressBar(
  label: string,
  total: number,
): { update(n: number, extra?: string): void; stop(): void } {
  if (!process.stderr.isTTY || total <= 0) {
    let last = 0;
    let lastPct = -1;
    return {
      update(n, extra) {
        const pct = total ? Math.floor((n / total) * 10) * 10 : -1;
        // unknown total: a line every two seconds instead of every 10 %
        if (total > 0 ? pct !== lastPct : Date.now() - last > 2000) {
          last = Date.now();
          lastPct = pct;
          process.stderr.write(`${label}: ${n}${total > 0 ? `/${total}` : ''}${extra ? ` ${extra}` : ''}\n`);
        }
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: `${label.padEnd(10)} [{bar}] {percentage}% {value}/{total} {extra}`,
      stream: process.stderr,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { extra: '' });
  return {
    update: (n, extra) => bar.update(n, { extra: extra ?? '' }),
    stop: () => bar.stop(),
  };
}
