/**
 * The HTML report of `trips report`: one self-contained page (inline SVG and CSS, no network, no
 * script needed to read it) with the weekly trips per region, the largest trip groups drawn on their
 * grid, the reject reasons per day and the task durations per day.
 */

export interface ReportData {
  generatedAt: string;
  source: string;
  regions: Array<{ name: string; weeklyAverage: number; totalTrips: number; weeks: Array<{ week_start_date: string; trips: number }> }>;
  /** The largest groups of similar trips, with the centres of their cells. */
  groups: Array<{ region: string; time_bucket: number; bucket_minutes: number; origin_lon: number; origin_lat: number; dest_lon: number; dest_lat: number; trips: number }>;
  /** The grid the groups were built on (degrees), when one. */
  cellSizeDeg?: number;
  rejects: Array<{ ds: string; read: number; rejected: number; byReason: Record<string, number>; refusedFiles: number }>;
  tasks: Array<{ ds: string; task: string; status: string; seconds: number }>;
}

const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const color = (i: number) => PALETTE[i % PALETTE.length];

export const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
const num = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const px = (n: number) => Number(n.toFixed(1));

/** A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten, at least `max`. */
function niceMax(max: number): number {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 5, 10].map((m) => m * p).find((v) => v >= max) as number;
}

function legend(items: Array<[string, string]>): string {
  return `<p class="legend">${items.map(([label, c]) => `<span><i style="background:${c}"></i>${esc(label)}</span>`).join('')}</p>`;
}

/** One small bar chart: trips per week of a region, the average as a dashed line. */
function weeklyChart(r: ReportData['regions'][number], i: number): string {
  const W = 360;
  const H = 150;
  const pad = { l: 40, r: 8, t: 8, b: 28 };
  const max = niceMax(Math.max(...r.weeks.map((w) => w.trips), r.weeklyAverage));
  const bw = (W - pad.l - pad.r) / Math.max(r.weeks.length, 1);
  const y = (v: number) => px(H - pad.b - (v / max) * (H - pad.t - pad.b));
  const bars = r.weeks
    .map((w, k) => `<rect x="${px(pad.l + k * bw + bw * 0.1)}" y="${y(w.trips)}" width="${px(bw * 0.8)}" height="${px(H - pad.b - y(w.trips))}" fill="${color(i)}"><title>week of ${esc(w.week_start_date)}: ${num(w.trips)} trips</title></rect>`)
    .join('');
  const labelEvery = Math.ceil(r.weeks.length / 6);
  const labels = r.weeks
    .map((w, k) => (k % labelEvery === 0 ? `<text x="${px(pad.l + k * bw + bw / 2)}" y="${H - pad.b + 14}" text-anchor="middle">${esc(w.week_start_date.slice(5))}</text>` : ''))
    .join('');
  const avg = y(r.weeklyAverage);
  return `<figure class="small"><figcaption><b>${esc(r.name)}</b>: ${num(r.weeklyAverage, 1)} trips per week (${num(r.totalTrips)} in ${r.weeks.length} week${r.weeks.length === 1 ? '' : 's'})</figcaption>
<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="weekly trips in ${esc(r.name)}">
<line class="axis" x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}"/><line class="axis" x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${H - pad.b}"/>
<text x="${pad.l - 4}" y="${pad.t + 8}" text-anchor="end">${num(max)}</text><text x="${pad.l - 4}" y="${H - pad.b}" text-anchor="end">0</text>
${bars}${labels}<line class="avg" x1="${pad.l}" y1="${avg}" x2="${W - pad.r}" y2="${avg}"><title>average ${num(r.weeklyAverage, 2)}</title></line>
</svg></figure>`;
}

/** The largest groups of one region on its grid: an arrow from the origin cell to the destination cell, as wide as the group is large. */
function groupMap(region: string, groups: ReportData['groups'], cell: number | undefined, maxTrips: number): string {
  const W = 360;
  const H = 300;
  const pad = 16;
  const lons = groups.flatMap((g) => [g.origin_lon, g.dest_lon]);
  const lats = groups.flatMap((g) => [g.origin_lat, g.dest_lat]);
  const margin = cell ?? 0.01;
  let [minLon, maxLon, minLat, maxLat] = [Math.min(...lons) - margin, Math.max(...lons) + margin, Math.min(...lats) - margin, Math.max(...lats) + margin];
  // Equirectangular, a degree of longitude shortened by cos(latitude): the map keeps its shape.
  const k = Math.cos((((minLat + maxLat) / 2) * Math.PI) / 180);
  const spanX = (maxLon - minLon) * k;
  const spanY = maxLat - minLat;
  const scale = Math.min((W - 2 * pad) / spanX, (H - 2 * pad) / spanY);
  const extraX = ((W - 2 * pad) / scale - spanX) / 2 / k;
  const extraY = ((H - 2 * pad) / scale - spanY) / 2;
  [minLon, maxLon, minLat, maxLat] = [minLon - extraX, maxLon + extraX, minLat - extraY, maxLat + extraY];
  const x = (lon: number) => px(pad + (lon - minLon) * k * scale);
  const y = (lat: number) => px(H - pad - (lat - minLat) * scale);
  let grid = '';
  if (cell && (maxLon - minLon) / cell <= 80 && (maxLat - minLat) / cell <= 80) {
    for (let v = Math.ceil(minLon / cell) * cell; v <= maxLon; v += cell) grid += `<line class="grid" x1="${x(v)}" y1="${pad}" x2="${x(v)}" y2="${H - pad}"/>`;
    for (let v = Math.ceil(minLat / cell) * cell; v <= maxLat; v += cell) grid += `<line class="grid" x1="${pad}" y1="${y(v)}" x2="${W - pad}" y2="${y(v)}"/>`;
  }
  const width = (t: number) => px(1 + 5 * (t / maxTrips));
  const shapes = groups
    .map((g) => {
      const hours = `${String(Math.floor((g.time_bucket * g.bucket_minutes) / 60)).padStart(2, '0')}:${String((g.time_bucket * g.bucket_minutes) % 60).padStart(2, '0')}`;
      const title = `<title>${num(g.trips)} trips at ${hours} (+${g.bucket_minutes} min) from ${g.origin_lat}, ${g.origin_lon} to ${g.dest_lat}, ${g.dest_lon}</title>`;
      const same = g.origin_lon === g.dest_lon && g.origin_lat === g.dest_lat;
      return same
        ? `<circle class="loop" cx="${x(g.origin_lon)}" cy="${y(g.origin_lat)}" r="${px(3 + 4 * (g.trips / maxTrips))}">${title}</circle>`
        : `<line class="trip" x1="${x(g.origin_lon)}" y1="${y(g.origin_lat)}" x2="${x(g.dest_lon)}" y2="${y(g.dest_lat)}" stroke-width="${width(g.trips)}" marker-end="url(#arrow)">${title}</line><circle class="origin" cx="${x(g.origin_lon)}" cy="${y(g.origin_lat)}" r="2.5"/>`;
    })
    .join('');
  return `<figure class="small"><figcaption><b>${esc(region)}</b>: ${groups.length} group${groups.length === 1 ? '' : 's'}, ${num(groups.reduce((s, g) => s + g.trips, 0))} trips</figcaption>
<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="trip groups in ${esc(region)}"><rect class="map" x="0" y="0" width="${W}" height="${H}"/>${grid}${shapes}
<text x="${W - pad}" y="${H - 4}" text-anchor="end">${minLat.toFixed(3)}…${maxLat.toFixed(3)}° N, ${minLon.toFixed(3)}…${maxLon.toFixed(3)}° E</text></svg></figure>`;
}

/** Horizontal stacked bars, one per row label: segments by key, colours by key order. */
function stackedBars(rows: Array<{ label: string; note: string; parts: Record<string, number> }>, keys: string[], unit: string, digits = 0): string {
  const W = 760;
  const rowH = 22;
  const left = 90;
  const right = 200;
  const max = niceMax(Math.max(...rows.map((r) => Object.values(r.parts).reduce((s, v) => s + v, 0)), 0));
  const scale = (W - left - right) / max;
  const H = rows.length * rowH + 24;
  const body = rows
    .map((r, i) => {
      let at = left;
      const segs = keys
        .filter((k) => (r.parts[k] ?? 0) > 0)
        .map((k) => {
          const w = r.parts[k] * scale;
          const s = `<rect x="${px(at)}" y="${i * rowH + 4}" width="${px(Math.max(w, 0.5))}" height="${rowH - 8}" fill="${color(keys.indexOf(k))}"><title>${esc(r.label)} ${esc(k)}: ${num(r.parts[k], digits)} ${unit}</title></rect>`;
          at += w;
          return s;
        })
        .join('');
      return `<text x="${left - 6}" y="${i * rowH + 15}" text-anchor="end">${esc(r.label)}</text>${segs}<text x="${px(at + 6)}" y="${i * rowH + 15}">${esc(r.note)}</text>`;
    })
    .join('');
  const axis = `<line class="axis" x1="${left}" y1="${rows.length * rowH + 2}" x2="${W - right}" y2="${rows.length * rowH + 2}"/><text x="${left}" y="${H - 4}">0</text><text x="${W - right}" y="${H - 4}" text-anchor="end">${num(max, digits)} ${unit}</text>`;
  return `<svg viewBox="0 0 ${W} ${H}" class="wide" role="img">${body}${axis}</svg>`;
}

const CSS = `body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1120px;color:#222;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 6px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#666;margin:0}.grid-of{display:flex;flex-wrap:wrap;gap:12px}figure.small{margin:0;width:360px}figcaption{font-size:13px;margin-bottom:2px}
svg{font-size:10px;fill:#444;display:block}svg.wide{width:100%;max-width:760px}.axis{stroke:#888}.avg{stroke:#222;stroke-dasharray:4 3}
.map{fill:#f4f1ea}.grid{stroke:#ddd6c8;stroke-width:.6}.trip{stroke:#c0392b;stroke-opacity:.7}.origin{fill:#2c3e50}.loop{fill:#c0392b;fill-opacity:.35;stroke:#c0392b}
.legend span{margin-right:14px;font-size:12px;white-space:nowrap}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:-1px}
table{border-collapse:collapse;font-size:13px}td,th{padding:2px 10px;border-bottom:1px solid #eee}td.n,th.n{text-align:right}.empty{color:#888;font-style:italic}`;

/** The whole page. */
export function reportHtml(d: ReportData): string {
  const byRegion = new Map<string, ReportData['groups']>();
  for (const g of d.groups) byRegion.set(g.region, [...(byRegion.get(g.region) ?? []), g]);
  const maxTrips = Math.max(1, ...d.groups.map((g) => g.trips));
  const reasons = [...new Set(d.rejects.flatMap((r) => Object.keys(r.byReason)))].sort();
  const taskIds = [...new Set(d.tasks.map((t) => t.task))];
  const days = [...new Set(d.tasks.map((t) => t.ds))].sort();
  const empty = (what: string) => `<p class="empty">${esc(what)}</p>`;

  const weekly = d.regions.length ? `<div class="grid-of">${d.regions.map(weeklyChart).join('')}</div>` : empty('No trips in the warehouse yet.');
  const totals = d.regions.length
    ? `<table><tr><th>region</th><th class="n">trips</th><th class="n">weeks</th><th class="n">weekly average</th></tr>${d.regions
        .map((r) => `<tr><td>${esc(r.name)}</td><td class="n">${num(r.totalTrips)}</td><td class="n">${r.weeks.length}</td><td class="n">${num(r.weeklyAverage, 2)}</td></tr>`)
        .join('')}</table>`
    : '';
  const maps = byRegion.size
    ? `<div class="grid-of">${[...byRegion].map(([region, gs]) => groupMap(region, gs, d.cellSizeDeg, maxTrips)).join('')}</div>`
    : empty('No trip groups yet.');
  const rejects = d.rejects.length
    ? legend(reasons.map((r, i) => [r, color(i)])) +
      stackedBars(
        d.rejects.map((r) => ({ label: r.ds, note: `${num(r.rejected)} of ${num(r.read)} rows (${r.read ? ((100 * r.rejected) / r.read).toFixed(2) : '0.00'}%)${r.refusedFiles ? `, ${r.refusedFiles} file(s) refused` : ''}`, parts: r.byReason })),
        reasons,
        'rows',
      )
    : empty('No validation has run yet.');
  const durations = days.length
    ? legend(taskIds.map((t, i) => [t, color(i)])) +
      stackedBars(
        days.map((ds) => {
          const ofDay = d.tasks.filter((t) => t.ds === ds);
          const failed = ofDay.filter((t) => t.status !== 'succeeded').map((t) => t.task);
          return { label: ds, note: `${num(ofDay.reduce((s, t) => s + t.seconds, 0), 1)} s${failed.length ? `, failed: ${failed.join(', ')}` : ''}`, parts: Object.fromEntries(ofDay.map((t) => [t.task, t.seconds])) };
        }),
        taskIds,
        's',
        1,
      )
    : empty('No task has run yet.');

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Trips report</title><style>${CSS}</style></head>
<body>
<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="5" markerHeight="5" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#c0392b"/></marker></defs></svg>
<h1>Trips report</h1>
<p class="meta">${esc(d.source)} · generated ${esc(d.generatedAt)}</p>
<section id="weekly"><h2>Weekly trips per region</h2><p class="meta">Trips per ISO week (Monday, UTC); the dashed line is the weekly average over the region's weeks, weeks without trips counting as zero.</p>${weekly}${totals}</section>
<section id="groups"><h2>The largest groups of similar trips</h2><p class="meta">Same region, origin cell, destination cell and time of day${d.cellSizeDeg ? ` (cells of ${d.cellSizeDeg}°, drawn as the grid)` : ''}: an arrow per group from its origin cell to its destination cell, wider for more trips; a circle where both are the same cell. Hover for the counts.</p>${maps}</section>
<section id="rejects"><h2>Rejected rows per day</h2><p class="meta">Rows validation rejected, by the first rule each broke (<code>trips rejects --ds DAY</code> lists them with file and line).</p>${rejects}</section>
<section id="tasks"><h2>Task durations per day</h2><p class="meta">Each task's last run of the day, from its manifest (<code>trips manifests --ds DAY</code>).</p>${durations}</section>
</body></html>
`;
}
