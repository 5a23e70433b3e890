// Preloaded into every Node process of a benchmark run (NODE_OPTIONS=--require): on exit, appends
// the process's argv, peak resident memory and CPU time (user + system) to the file named by
// TRIPS_BENCH_RSS_FILE.
const { appendFileSync } = require('node:fs');

const file = process.env.TRIPS_BENCH_RSS_FILE;
if (file) {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    appendFileSync(file, `${JSON.stringify({ argv: process.argv.slice(1), maxRssKiB: usage.maxRSS, cpuMs: Math.round((usage.userCPUTime + usage.systemCPUTime) / 1000) })}\n`);
  });
}
