import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runNode } from './trips';

/** `node tools/bench/run.mjs scale …`: its exit code, stdout and stderr. */
const bench = (args: string[]) => runNode('tools/bench/run.mjs', ['scale', ...args]);

interface ScaleReport {
  tasksFrom: 'bundles' | 'sources';
  store: 's3' | 'files';
  trips: number;
  days: number;
  factsAtEnd: number;
  peakDiskBytes: number;
  floors: Array<{ day: number; lakeSeconds: number; warehouseSeconds: number; warehouseCsvSeconds?: number }>;
  lastDayAgainstFloors: { ratio: number; loadRatio: number; ratioCsvFloor: number };
  machine: { cores: number };
  daysAgainstFloors: Array<{ day: number; pipelineSeconds: number; floorSeconds: number; ratio: number; lakeTasksRatio: number; loadRatio: number; cpuBoundRatio: number }>;
  medianAgainstFloors: { days: number; ratio: number; lakeTasksRatio: number; loadRatio: number; cpuBoundRatio: number };
  loadGrowth: { warehouseTripsBeforeLastDay: number; ratio: number };
  questions: Array<{ question: string; ms: number; onceMs: number; bruteMs: number; same: boolean }>;
  perDay: Array<{ warehouseTripsBefore: number; facts: number; seconds: number; cpuSeconds: number; tasks: Array<{ task: string; seconds: number; cpuSeconds: number; peakRssMiB: number; rowsRead: number }> }>;
}

// The scale benchmark itself is not part of the tests (docs/scale.md); this small run of it is: it
// must measure what it claims on a real pipeline, and its report must hold together.
describe('tools/bench scale (a small run)', () => {
  let out: string;
  // The run's folder, kept (--keep) for the questions on its warehouse.
  let kept = '';
  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'trips-scale-smoke-'));
  });
  afterAll(async () => {
    await rm(out, { recursive: true, force: true });
    if (kept) await rm(kept, { recursive: true, force: true });
  });

  it('runs the days into one warehouse and reports per-day, per-task, floor and question figures as JSON, Markdown and SVG', async () => {
    // Three days, the floors measured after every second day besides the first and the last: days 1 and 3 (with the CSV COPY) and day 2.
    const r = await bench(['--trips', '4500', '--days', '3', '--floors-every', '2', '--runs', '2', '--brute-runs', '1', '--out', out, '--keep']);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    kept = /^kept (.+)$/m.exec(r.stderr)?.[1] ?? '';
    expect(kept).toContain('trips-bench-scale-');
    const report = JSON.parse(await readFile(join(out, 'scale.json'), 'utf8')) as ScaleReport;
    // Without --bundled, from the sources (no build first); without --store, through the S3 server.
    expect(report).toMatchObject({ trips: 4500, days: 3, tasksFrom: 'sources', store: 's3' });
    expect(report.perDay).toHaveLength(3);
    const [first, second, third] = report.perDay;
    // Day 2 goes into the warehouse day 1 left; the generator's 1% bad rows and repeats are not facts.
    expect(first.warehouseTripsBefore).toBe(0);
    expect(second.warehouseTripsBefore).toBe(first.facts);
    expect(first.facts).toBeGreaterThan(1400);
    expect(first.facts).toBeLessThan(1500);
    expect(third.warehouseTripsBefore).toBe(second.facts);
    expect(report.factsAtEnd).toBe(third.facts);
    for (const d of report.perDay) {
      expect(d.tasks.map((t) => t.task)).toEqual(['validate_raw', 'clean_stage', 'build_dimensions', 'build_facts', 'load_redshift']);
      // Every task's process was measured (the memory hook ran in it), and the run's wall time holds its tasks'.
      for (const t of d.tasks) {
        expect(t.peakRssMiB).toBeGreaterThan(30);
        expect(t.cpuSeconds).toBeGreaterThan(0);
      }
      expect(d.seconds).toBeGreaterThanOrEqual(d.tasks.reduce((s, t) => s + t.seconds, 0));
      expect(d.cpuSeconds).toBeGreaterThan(0);
      expect(d.tasks[0].rowsRead).toBe(1500);
    }
    expect(report.floors.map((f) => f.day)).toEqual([1, 2, 3]);
    for (const f of report.floors) {
      expect(f.lakeSeconds).toBeGreaterThan(0);
      expect(f.warehouseSeconds).toBeGreaterThan(0);
    }
    expect(report.floors.map((f) => f.warehouseCsvSeconds === undefined)).toEqual([false, true, false]);
    expect(report.floors[0].warehouseCsvSeconds).toBeGreaterThan(0);
    // Each day against the floors measured after it, and their median.
    expect(report.daysAgainstFloors.map((a) => a.day)).toEqual([1, 2, 3]);
    for (const [i, a] of report.daysAgainstFloors.entries()) {
      const f = report.floors[i];
      const d = report.perDay[i];
      expect(a.pipelineSeconds).toBe(d.seconds);
      expect(a.ratio).toBeCloseTo(d.seconds / (f.lakeSeconds + f.warehouseSeconds), 1);
      expect(a.loadRatio).toBeCloseTo((d.tasks.find((t) => t.task === 'load_redshift')?.seconds ?? 0) / f.warehouseSeconds, 0);
      // The least the day could take with every core busy, against the same floors.
      expect(a.cpuBoundRatio).toBeCloseTo(d.cpuSeconds / report.machine.cores / (f.lakeSeconds + f.warehouseSeconds), 1);
    }
    const ratios = report.daysAgainstFloors.map((a) => a.ratio).sort((a, b) => a - b);
    expect(report.medianAgainstFloors).toMatchObject({ days: 3, ratio: ratios[1] });
    expect(report.lastDayAgainstFloors.ratio).toBe(report.daysAgainstFloors[2].ratio);
    expect(Number.isFinite(report.lastDayAgainstFloors.ratioCsvFloor)).toBe(true);
    // A small day's binary COPY takes milliseconds: the ratios against it must still be numbers.
    expect(Number.isFinite(report.lastDayAgainstFloors.ratio) && Number.isFinite(report.lastDayAgainstFloors.loadRatio)).toBe(true);
    expect(report.loadGrowth.warehouseTripsBeforeLastDay).toBe(second.facts);
    expect(report.peakDiskBytes).toBeGreaterThan(0);
    expect(report.questions.map((q) => q.question)).toHaveLength(11);
    for (const q of report.questions) expect({ question: q.question, same: q.same }).toEqual({ question: q.question, same: true });
    for (const q of report.questions) expect([q.ms, q.onceMs, q.bruteMs].every((ms) => ms > 0)).toBe(true);

    const md = await readFile(join(out, 'scale.md'), 'utf8');
    expect(md).toContain('# Scale run: 4,500 trips as 3 daily batches of 1,500');
    expect(md).toContain(`| each day against the floors measured after it, median of the 3 days measured | **${report.medianAgainstFloors.ratio}x**`);
    expect(md).toContain(`CPU-seconds over the ${report.machine.cores} cores against the floors: the least a day could take, every core busy, with its work as it is | ${report.medianAgainstFloors.cpuBoundRatio}x |`);
    expect(md).toMatch(/\n\| 2 \| [\d.,]+ \| [\d.,]+ \| {2}\| [\d.]+x \| [\d.]+x \| [\d.]+x \|\n/);
    expect(md).toMatch(/\| weekly-average, box \(both\) \| [\d.,]+ \| [\d.,]+ \| [\d.,]+ \| [\d.]+x \| yes \|/);
    const svg = await readFile(join(out, 'scale.svg'), 'utf8');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    // Three charts: time per task (and the whole run), memory per task, disk; a line of three days each.
    expect(svg.match(/<polyline /g)).toHaveLength(6 + 5 + 1);
  });

  it('times the questions again on the warehouse a kept run left, those named by --only, with their answers checked', async () => {
    expect(kept).not.toBe('');
    const r = await bench(['--questions-on', join(kept, 'state'), '--only', 'groups', '--runs', '2', '--brute-runs', '1']);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^question +ms +once ms +brute ms +speed-up {2}same answer$/);
    expect(lines[1]).toMatch(/^groups \(largest 10\) +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+x {2}true$/);
    expect(lines[2]).toMatch(/^groups \(largest 10\), smallest region +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+x {2}true$/);
    expect(r.stderr).toMatch(/the questions on 4,[34]\d\d trips \(median of 2 warm runs; brute force 1\)/);
    const none = await bench(['--questions-on', join(kept, 'state'), '--only', 'no such question']);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('no question\'s name holds "no such question": weekly-average, region;');
    const empty = await bench(['--questions-on', out]);
    expect(empty.code).not.toBe(0);
    expect(empty.stderr).toContain(`--questions-on ${out}: no warehouse there`);
  });
});
