import type { Client } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { dayOfPartition } from './ddl';
import { WAREHOUSE_SCHEMA } from './port';
import { keyWords, TripFilter, TripKeys } from './trip-filter';

const S = WAREHOUSE_SCHEMA;
/** A timestamp column as microseconds since 2000-01-01: how trip-filter.ts counts time (timestampText goes back). */
const micros = (col: string) => `cast(extract(epoch from ${col} - timestamp '2000-01-01') * 1000000 as bigint)`;

const EPOCH_2000_MS = Date.UTC(2000, 0, 1);

/** Microseconds since 2000-01-01 as PostgreSQL reads a timestamp: 'YYYY-MM-DD HH:MM:SS.ffffff'. */
export function timestampText(us: number): string {
  const ms = Math.floor(us / 1000);
  const iso = new Date(EPOCH_2000_MS + ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}${String(us - ms * 1000).padStart(3, '0')}`;
}

/**
 * How a load reads the fact rows other days hold of its trips, its own day's aside: it probes each
 * trip the day filters name (a candidate) by its day, timestamp and key, or matches the touched trips
 * against every fact of the days whose span meets theirs in one (parallel) hash join. A candidate
 * costs about as much as `perCandidate` facts of those days: on 10.8M trips, 1M a day, whose loads
 * ask filters holding 6.9M trips, the join took about 1.2 s, and probing 100k candidates (written
 * out, copied in and probed) about 1.5 s, 2,000 about 0.1 s (docs/warehouse.md, "Day filters"). So a
 * load probes while its candidates cost less than the facts of the days it asked (below about 86k
 * candidates there), and always when they are at most `always` (a few milliseconds of probes).
 */
export const probeCost = { perCandidate: 80, always: 1000 };

/** Whether a load probes its `candidates` (true) or matches the `spanTrips` facts of the days it asked (false). */
export function probes(candidates: number, spanTrips: number): boolean {
  return candidates <= probeCost.always || candidates * probeCost.perCandidate <= spanTrips;
}

/**
 * The PostgreSQL side of the day filters (TRIP_DAY_FILTER_DDL, ddl.ts) for the day-partitioned
 * table `table`, used by a load in its transaction, after it locked the table.
 */
export class DayFilters {
  constructor(
    private readonly c: Client,
    private readonly table: string,
  ) {}

  /**
   * Gives every day that delivered trips its filter, from the day's deliveries (its partition and its
   * redeliveries): those of a warehouse older than the filters. Every load writes its day's; a day
   * with a partition and no filter is missing one, and so, when there is no filter at all, is every
   * day with redeliveries (an earlier layout made no partition for a day owning no trip). Returns the
   * days filled.
   */
  async fillMissing(onDay?: (ds: string, trips: number) => void): Promise<string[]> {
    const partitions = await this.c.query<{ name: string }>(
      `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent join pg_namespace n on n.oid = p.relnamespace where n.nspname = $1 and p.relname = $2`,
      [S, this.table],
    );
    const days = new Set(partitions.rows.map((r) => dayOfPartition(this.table, r.name)).filter((ds) => ds !== undefined));
    const filtered = new Set((await this.c.query<{ ds: string }>(`select to_char(ds, 'YYYY-MM-DD') as ds from ${S}.trip_day_filter`)).rows.map((r) => r.ds));
    if (filtered.size === 0) {
      for (const r of (await this.c.query<{ ds: string }>(`select distinct to_char(ds, 'YYYY-MM-DD') as ds from ${S}.trip_redelivery`)).rows) days.add(r.ds);
    }
    const missing = [...days].filter((ds) => !filtered.has(ds)).sort();
    for (const ds of missing) {
      const keys = await this.deliveries(ds);
      await this.write(ds, keys);
      onDay?.(ds, keys.length);
    }
    return missing;
  }

  /**
   * The trips day `ds` delivered (its fact rows and its redeliveries), streamed out with COPY: held
   * as 24 bytes a trip (TripKeys), not as a row object each.
   */
  private async deliveries(ds: string): Promise<TripKeys> {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(ds)) throw new Error(`not a ds: ${ds}`);
    const day = `date '${ds}'`;
    const sql = `copy (select replace(cast(trip_id as text), '-', ''), ${micros('trip_ts')} from (select trip_id, trip_ts from ${S}.${this.table} where ds = ${day} union all select trip_id, trip_ts from ${S}.trip_redelivery where ds = ${day}) d) to stdout`;
    const keys = new TripKeys(1 << 16);
    let rest = '';
    for await (const chunk of this.c.query(copyTo(sql)) as AsyncIterable<Buffer>) {
      const lines = (rest + chunk.toString('latin1')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        // 32 hex digits, a tab, the microseconds.
        keys.push(...keyWords(line.slice(0, 32)), Number(line.slice(33)));
      }
    }
    if (rest !== '') throw new Error(`the deliveries of ${ds} ended in a partial line: ${rest}`);
    return keys;
  }

  /**
   * Creates `fact_candidates` (trip_id, trip_ts, ds) in the load's schema: for each touched trip (`staged`,
   * and those in touched_trips that are not staged), each day but `ds` whose filter may hold it and
   * whose span holds its timestamp. `lo` and `hi` bound the touched trips' timestamps. Returns the
   * candidates, the days whose filters were asked, the trips those days hold (`spanTrips`) and whether
   * the load probes the candidates (`probe`, probes above); when it does not, the table stays empty.
   */
  async candidates(ds: string, staged: TripKeys, lo: string | null, hi: string | null): Promise<{ candidates: number; days: number; spanTrips: number; probe: boolean }> {
    await this.c.query('create unlogged table fact_candidates (trip_id uuid not null, trip_ts timestamp not null, ds date not null)');
    if (lo === null || hi === null) return { candidates: 0, days: 0, spanTrips: 0, probe: true };
    const filters = (
      await this.c.query<{ ds: string; trips: number; lo: string | number; hi: string | number; bits: Buffer }>(
        `select to_char(ds, 'YYYY-MM-DD') as ds, trips, ${micros('lo')} as lo, ${micros('hi')} as hi, bits from ${S}.trip_day_filter where ds <> cast($1 as date) and lo <= cast($3 as timestamp) and hi >= cast($2 as timestamp)`,
        [ds, lo, hi],
      )
    ).rows.map((r) => ({ ds: r.ds, trips: r.trips, lo: Number(r.lo), hi: Number(r.hi), filter: new TripFilter(r.bits) }));
    const spanTrips = filters.reduce((n, f) => n + f.trips, 0);
    const others = await this.c.query<{ id: string; us: string | number }>(`select cast(trip_id as text) as id, ${micros('trip_ts')} as us from touched_trips where staged = 0`);
    const keys = new TripKeys(others.rows.length);
    for (const r of others.rows) keys.push(...keyWords(r.id), Number(r.us));
    // Found first (which keys, which trip, which filter), written out only if the load probes them.
    // Each trip is hashed once, for all the filters; then one filter at a time asks every trip its
    // span holds, so that the filter's bits (2 MB for a day of 1M trips) stay in the processor's cache:
    // asked trip by trip, each trip's first probe of each filter missed it, and a million trips
    // asked of seven filters took 0.50–0.61 s against 0.18–0.19 s (docs/warehouse.md).
    const found: number[] = [];
    const sets = [staged, keys];
    for (const [set, k] of sets.entries()) {
      const w = k.words;
      const h1 = new Uint32Array(k.length);
      const h2 = new Uint32Array(k.length);
      for (let i = 0; i < k.length; i++) {
        const h = TripFilter.hashes(w[4 * i], w[4 * i + 1], w[4 * i + 2], w[4 * i + 3]);
        h1[i] = h[0];
        h2[i] = h[1];
      }
      for (let j = 0; j < filters.length; j++) {
        const f = filters[j];
        for (let i = 0; i < k.length; i++) {
          const t = k.micros[i];
          if (t >= f.lo && t <= f.hi && f.filter.hasHashed(h1[i], h2[i])) found.push(set, i, j);
        }
      }
    }
    const candidates = found.length / 3;
    const probe = probes(candidates, spanTrips);
    if (probe && candidates > 0) {
      const lines: string[] = [];
      for (let n = 0; n < found.length; n += 3) {
        const k = sets[found[n]];
        const i = found[n + 1];
        lines.push(`${k.key(i)}\t${timestampText(k.micros[i])}\t${filters[found[n + 2]].ds}\n`);
      }
      await pipeline(Readable.from([lines.join('')]), this.c.query(copyFrom('copy fact_candidates (trip_id, trip_ts, ds) from stdin')));
    }
    await this.c.query('analyze fact_candidates');
    return { candidates, days: filters.length, spanTrips, probe };
  }

  /** Writes day `ds`'s filter: of the trips `keys` (its latest batch), in place of the one it had. */
  async write(ds: string, keys: TripKeys): Promise<void> {
    const filter = TripFilter.sizedFor(keys.length);
    let lo = Infinity;
    let hi = -Infinity;
    const w = keys.words;
    for (let i = 0; i < keys.length; i++) {
      filter.add(w[4 * i], w[4 * i + 1], w[4 * i + 2], w[4 * i + 3]);
      lo = Math.min(lo, keys.micros[i]);
      hi = Math.max(hi, keys.micros[i]);
    }
    const span = keys.length > 0 ? [timestampText(lo), timestampText(hi)] : [null, null];
    await this.c.query(
      `insert into ${S}.trip_day_filter (ds, trips, lo, hi, bits) values (cast($1 as date), $2, cast($3 as timestamp), cast($4 as timestamp), $5) ` +
        'on conflict (ds) do update set trips = excluded.trips, lo = excluded.lo, hi = excluded.hi, bits = excluded.bits',
      [ds, keys.length, ...span, Buffer.from(filter.bytes.buffer, filter.bytes.byteOffset, filter.bytes.byteLength)],
    );
  }
}
