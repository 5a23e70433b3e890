import { runNode } from './trips';

interface LoadGrowth {
  batch: number;
  repeat: number;
  nearEmptyTrips: number;
  warehouseTrips: number;
  loadIntoNearEmptySeconds: number[];
  loadIntoFullSeconds: number[];
  medianIntoNearEmptySeconds: number;
  medianIntoFullSeconds: number;
  ratio: number;
  rerunExact: boolean;
  growth: Array<{ warehouseTrips: number; seconds: number }>;
}

// The load-growth benchmark itself is not part of the tests (docs/scale.md measures target 2 with
// it); this small run of it is: it must load the same day as often as asked into fresh copies of both
// warehouses, alternating, and rerun it exactly (its checksum query had failed unnoticed once).
describe('tools/bench load-growth (a small run)', () => {
  it('refuses an option it does not take, naming it, before any work', async () => {
    const r = await runNode('tools/bench/run.mjs', ['load-growth', '--batch', '1000', '--out', 'somewhere']);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain("load-growth: Unknown option '--out'");
    expect(r.stderr).toContain('node tools/bench/run.mjs load-growth --help lists its options');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('loads one day into copies of a near-empty and of a full warehouse, alternating, compares the medians and reruns it exactly', async () => {
    const r = await runNode('tools/bench/run.mjs', ['load-growth', '--batch', '1000', '--days', '2', '--repeat', '2']);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const result = JSON.parse(r.stdout.trim().split('\n').pop() as string) as LoadGrowth;
    // The generator's defaults make no bad rows and no repeats: two days hold 2,000 trips. The
    // near-empty warehouse holds the committed sample.
    expect(result).toMatchObject({ batch: 1000, repeat: 2, nearEmptyTrips: 1968, warehouseTrips: 2000, rerunExact: true });
    expect(result.growth.map((g) => g.warehouseTrips)).toEqual([0, 1000]);
    expect(result.loadIntoNearEmptySeconds).toHaveLength(2);
    expect(result.loadIntoFullSeconds).toHaveLength(2);
    for (const s of [...result.loadIntoNearEmptySeconds, ...result.loadIntoFullSeconds]) expect(s).toBeGreaterThan(0);
    const mean = (xs: number[]) => (xs[0] + xs[1]) / 2; // the median of two
    expect(result.medianIntoNearEmptySeconds).toBeCloseTo(mean(result.loadIntoNearEmptySeconds), 1);
    expect(result.medianIntoFullSeconds).toBeCloseTo(mean(result.loadIntoFullSeconds), 1);
    expect(result.ratio).toBeCloseTo(result.medianIntoFullSeconds / result.medianIntoNearEmptySeconds, 1);
    // Which warehouse goes first alternates from one round to the next.
    const trials = r.stderr.split('\n').filter((l) => l.startsWith('trial '));
    expect(trials.map((l) => l.replace(/: [\d.]+ s$/, ''))).toEqual([
      'trial 1 of 2, into 1,968 trips',
      'trial 1 of 2, into 2,000 trips',
      'trial 2 of 2, into 2,000 trips',
      'trial 2 of 2, into 1,968 trips',
    ]);
  });
});
