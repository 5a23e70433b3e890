// What each benchmark costs before it starts: its size (bounded defaults), about how long it runs and
// how much disk it needs on this kind of machine (2 cores; figures from earlier runs), checked
// against the free space where it writes. `node tools/bench/run.mjs <name>` and task-memory.mjs
// print it first; a bench that would not fit on the disk is refused.
import { mkdirSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';

const MB = 1e6;

/** Per bench: the option giving its size, its default, and the cost model (seconds, bytes of disk at peak). */
export const BENCHES = {
  'weekly-average': {
    option: 'rows',
    default: 1_000_000,
    unit: 'trips',
    seconds: (n) => 15 + n * 60e-6, // generate + the whole pipeline + the queries: 71 s for a million
    bytes: (n) => 300 * MB + n * 1300,
    where: 'a temporary folder, deleted at the end (--state DIR keeps it there, and a later run reuses it)',
  },
  'task-memory': {
    option: 'rows',
    default: 1_000_000,
    unit: 'rows',
    seconds: (n) => 15 + n * 95e-6,
    bytes: (n) => 300 * MB + n * 1300,
    where: 'a temporary folder, deleted at the end (--keep keeps it)',
  },
  'ingest-memory': {
    option: 'mib',
    default: 256,
    unit: 'MiB',
    seconds: (mib) => 10 + mib * 0.05,
    bytes: (mib) => 2.1 * mib * 2 ** 20,
    where: 'a temporary folder, deleted at the end',
  },
  'load-growth': {
    option: 'batch',
    default: 200_000,
    unit: 'trips a day (11 days; --days changes the 10 loaded before the measured one)',
    // 10 days, the sample, 3 loads into each warehouse (--repeat) and the rerun: 11 min for a million.
    seconds: (n) => 19 * (4 + n * 31e-6),
    bytes: (n) => 300 * MB + 12 * n * 1300,
    where: 'a temporary folder, deleted at the end',
  },
  scale: {
    option: 'trips',
    default: 1_000_000,
    unit: 'trips (as --days daily batches, 10 by default)',
    seconds: (n) => 200 + n * 47e-6, // ten days' fixed costs, then per trip: 100M in 100 days took 82 min with the questions
    bytes: (n) => 1000 * MB + n * 550, // 100M: 53.6 GB at peak (the brute force's spills), the state growing 0.5 GB per million trips
    where: (argv) => `a temporary folder, deleted at the end (--keep keeps it); the report goes to ${optionOf(argv, 'out') ?? 'bench-results/ (--out DIR elsewhere)'}`,
    // --resend SHARE delivers that share of each day's rows again the next day: more rows to run.
    weight: (argv) => 1 + (Number(optionOf(argv, 'resend')) || 0),
  },
  'csv-reader': {
    option: 'rows',
    default: 1_000_000,
    unit: 'rows',
    seconds: (n) => 3 + n * 12e-6,
    bytes: (n) => n * 150,
    where: 'a temporary folder, deleted at the end',
  },
};

const human = (s) => (s >= 90 ? `${Math.round(s / 60)} min` : `${Math.round(s)} s`);
const size = (b) => (b >= 1e9 ? `${(b / 1e9).toFixed(1)} GB` : `${Math.round(b / MB)} MB`);

/** The value of `--name V` or `--name=V` in argv, if given. */
function optionOf(argv, name) {
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  return argv[i].includes('=') ? argv[i].split('=')[1] : argv[i + 1];
}

/**
 * Says what the bench will cost and refuses it when the disk is too small; returns argv with its
 * size option made explicit (the default when not given).
 */
export function announce(name, argv, dir = tmpdir()) {
  const bench = BENCHES[name];
  if (!bench) return argv;
  const given = optionOf(argv, bench.option);
  const n = Number(given ?? bench.default);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`${name}: --${bench.option} must be a positive number, got "${given}"`);
    process.exit(64);
  }
  const sized = given === undefined ? [...argv, `--${bench.option}`, String(n)] : argv;
  // Options that run none of the bench's work: scale's --from-json (renders a report) and
  // --questions-on (times the questions on an existing warehouse).
  if (['from-json', 'questions-on'].some((o) => optionOf(argv, o) !== undefined)) return sized;
  const work = n * (bench.weight?.(argv) ?? 1);
  const need = bench.bytes(work);
  mkdirSync(dir, { recursive: true });
  const fs = statfsSync(dir);
  const free = fs.bavail * fs.bsize;
  console.error(
    `${name}: ${n.toLocaleString('en-US')} ${bench.unit}${given === undefined ? ` (the default; --${bench.option} N to change)` : ''}: ` +
      `about ${human(bench.seconds(work))} and ${size(need)} of disk in ${typeof bench.where === 'function' ? bench.where(argv) : bench.where}; ${size(free)} free there`,
  );
  if (need > free * 0.9) {
    console.error(`${name}: not enough free disk for this size; give a smaller --${bench.option}, or free space under ${dir}`);
    process.exit(75);
  }
  return sized;
}
