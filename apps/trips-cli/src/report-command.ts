import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gridCellSizes, largestGroups, q, regionNames, weeklyAverage } from '@trips/warehouse';
import { taskOfApp } from '@trips/pipeline';
import { defineCommand } from './args';
import { readManifests, withLocalLake } from './local-lake';
import { withLocalWarehouse } from './local-warehouse';
import { reportHtml, type ReportData } from './report-html';
import { cliSettings } from './settings';
import { workspaceRoot } from './workspace';

/** PostgreSQL's SQLSTATE for a table that does not exist. */
const UNDEFINED_TABLE = '42P01';

/** How many of the largest trip groups the map shows. */
const GROUPS = 200;

export const reportCommand = defineCommand(
  {
    name: 'trips report',
    description: `Writes an HTML page to look at (self-contained: open it in any browser): the weekly trips per region, the
largest groups of similar trips on their grid, the rejected rows per day by reason, and the task durations
per day, from the local warehouse and the manifests of the local lake.`,
    options: { out: { type: 'string', value: 'PATH', description: 'where to write the page (default: <state>/report/index.html)' } },
  },
  async ({ values }) => {
    const settings = cliSettings(workspaceRoot());
    const out = resolve(typeof values.out === 'string' ? values.out : join(settings.TRIPS_STATE_DIR, 'report', 'index.html'));
    const say = (line: string) => process.stderr.write(`${line}\n`);
    say('trips report: reading the manifests of the local lake');
    const validateTask = taskOfApp('validate-raw').id;
    const manifests = await withLocalLake((lake) => readManifests(lake));
    say('trips report: asking the local warehouse');
    const data = await withLocalWarehouse(async (wh) => {
      let names: string[];
      try {
        names = (await q<{ name: string }>(wh, regionNames())).map((r) => r.name);
      } catch (e) {
        // No load has succeeded yet (say, validation stopped the first run): the page still shows the lake's side.
        if ((e as { cause?: { code?: string } }).cause?.code !== UNDEFINED_TABLE) throw e;
        say('trips report: the warehouse has no tables yet: the page shows the rejects and task times only');
        return { regions: [], groups: [], cellSizeDeg: undefined };
      }
      const regions: ReportData['regions'] = [];
      for (const name of names) {
        const a = await weeklyAverage(wh, { area: { region: name } });
        regions.push({ name, weeklyAverage: a.weeklyAverage, totalTrips: a.totalTrips, weeks: a.weeks });
      }
      const groups = await q<ReportData['groups'][number]>(wh, largestGroups(GROUPS));
      const [cells] = await q<{ min_deg: number | null; max_deg: number | null }>(wh, gridCellSizes());
      return { regions, groups, cellSizeDeg: cells?.min_deg !== null && cells?.min_deg === cells?.max_deg ? Number(cells.min_deg) : undefined };
    });
    const report: ReportData = {
      generatedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      source: `local state ${settings.TRIPS_STATE_DIR}`,
      ...data,
      groups: data.groups.map((g) => ({ ...g, origin_lon: Number(g.origin_lon), origin_lat: Number(g.origin_lat), dest_lon: Number(g.dest_lon), dest_lat: Number(g.dest_lat), trips: Number(g.trips) })),
      rejects: manifests
        .filter((m) => m.task === validateTask)
        .map((m) => ({ ds: m.ds, read: m.rows.read, rejected: m.rows.rejected, byReason: m.rejectedByReason, refusedFiles: m.files.filter((f) => f.status === 'quarantined').length })),
      tasks: manifests.map((m) => ({ ds: m.ds, task: m.task, status: m.status, seconds: m.durationMs / 1000 })),
    };
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, reportHtml(report));
    say(`trips report: wrote ${relative(process.cwd(), out) || out} (${report.regions.length} regions, ${report.groups.length} trip groups, ${new Set(report.tasks.map((t) => t.ds)).size} day(s)); open ${pathToFileURL(out).href}`);
    process.stdout.write(`${out}\n`);
    return 0;
  },
);
