// Peak resident memory of ingest-sftp landing one large file (256 MiB by default) from a real SFTP
// server into a real S3 server, as a ratio against the same app's start-up footprint (`--help`)
// measured in the same run; also its throughput. Runs the esbuild bundle (the container's file):
// build it first (`npx nx run ingest-sftp:build`).
//
//   node tools/bench/run.mjs ingest-memory [--mib 256]
//
// Not a test: it prints figures for people (and the closing notes of issues) to read.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sftpSettings, startS3Server, startSftpServer } from '@trips/local';

const root = join(__dirname, '..', '..');
// run.mjs passes --mib (its default is in budget.mjs).
const { values } = parseArgs({ options: { mib: { type: 'string' } } });
const mib = Number(values.mib);
const bundle = join(root, 'dist', 'apps', 'ingest-sftp', 'main.js');
if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run npx nx run ingest-sftp:build first`);

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'trips-ingest-bench-'));
  const rssFile = join(work, 'rss.jsonl');
  try {
    mkdirSync(join(work, 'sftp', 'in'), { recursive: true });
    const file = join(work, 'sftp', 'in', 'big.csv');
    const line = 'Prague,POINT (14.4973794438195 50.00136875782316),POINT (14.43109483523328 50.04052930943246),2018-05-28 09:03:40,funny_car\n';
    const chunk = Buffer.from(line.repeat(Math.floor((1 << 20) / line.length)));
    const out = createWriteStream(file);
    for (let written = 0; written < mib * 2 ** 20; written += chunk.length) if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
    await new Promise<void>((r) => out.end(() => r()));
    utimesSync(file, 1_527_000_000, 1_527_000_000);

    const s3 = await startS3Server({ buckets: ['raw', 'lake'] });
    const sftp = await startSftpServer({ root: join(work, 'sftp') });
    const env = {
      ...process.env,
      ...s3.env({ raw: 'raw', lake: 'lake' }),
      ...sftpSettings(sftp, '/in', { minAgeSeconds: 0, stableSeconds: 0 }),
      LOG_LEVEL: 'warn',
      TRIPS_BENCH_RSS_FILE: rssFile,
      NODE_OPTIONS: `--require ${join(root, 'tools/bench/rss-hook.cjs')}`,
    };
    const peak = () => Math.max(...readFileSync(rssFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l).maxRssKiB)) / 1024;
    // The app runs asynchronously: the SFTP and S3 servers live in this process and must keep serving.
    const run = (args: string[]) =>
      new Promise<number>((resolve) => {
        const child = spawn(process.execPath, [bundle, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
        child.on('close', (code) => resolve(code ?? 1));
      });

    await run(['--help']);
    const baseline = peak();
    rmSync(rssFile);
    const t0 = Date.now();
    const code = await run(['--ds', '2018-05-28']);
    const seconds = (Date.now() - t0) / 1000;
    if (code !== 0) throw new Error(`ingest-sftp exited ${code}`);
    const landed = await s3.store().head('raw', 'trips/ingest_date=2018-05-28/big.csv');
    if (!landed) throw new Error('the file did not land');
    const top = peak();
    console.log(`ingest-sftp landing one ${(landed.size / 2 ** 20).toFixed(0)} MiB file: ${seconds.toFixed(0)} s (${(mib / seconds).toFixed(1)} MiB/s, read over SFTP, uploaded, re-read to verify)`);
    console.log(`peak RSS ${top.toFixed(0)} MiB; start-up (--help) ${baseline.toFixed(0)} MiB; ratio ${(top / baseline).toFixed(1)}`);
    await sftp.close();
    await s3.close();
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

void main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
