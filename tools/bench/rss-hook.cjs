// Preloaded into every Node process of a benchmark run (NODE_OPTIONS=--require): on exit, appends
// the process's argv and peak resident memory to the file named by TRIPS_BENCH_RSS_FILE.
const { appendFileSync } = require('node:fs');

const file = process.env.TRIPS_BENCH_RSS_FILE;
if (file) {
  process.on('exit', () => {
    appendFileSync(file, `${JSON.stringify({ argv: process.argv.slice(1), maxRssKiB: process.resourceUsage().maxRSS })}\n`);
  });
}
