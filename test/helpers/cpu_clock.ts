// "Finishes quickly" checks that do not fail when other processes load the machine: they measure
// the CPU time of this process (user + system, all its threads), which a busy machine does not
// stretch the way it stretches wall-clock time. The bounds guard against runaway work (quadratic
// loops, exponential expansion), not against a slow computer.

/** Starts a clock; calling the result gives the CPU milliseconds this process has used since. */
export function cpuClock(): () => number {
  const start = process.cpuUsage();
  return () => {
    const d = process.cpuUsage(start);
    return (d.user + d.system) / 1000;
  };
}
