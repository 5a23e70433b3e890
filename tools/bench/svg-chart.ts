/** A small line chart as a self-contained SVG (no fonts or scripts fetched): for bench reports. */

export interface Series {
  name: string;
  points: Array<[number, number]>;
  /** Its colour (the same series keeps one colour across charts); by default the next of the palette. */
  colour?: string;
}

export const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf', '#7f7f7f'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Round axis steps: 1, 2 or 5 times a power of ten, about `n` of them up to `max`. */
function ticks(max: number, n = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) as number;
  return Array.from({ length: Math.ceil(max / step) + 1 }, (_, i) => +(i * step).toPrecision(12));
}

const label = (v: number) => (Math.abs(v) >= 1e6 ? `${+(v / 1e6).toPrecision(3)}M` : Math.abs(v) >= 1e3 ? `${+(v / 1e3).toPrecision(3)}k` : `${+v.toPrecision(3)}`);

/** One chart: x and y from zero, a line and dots per series, a legend on the right. */
export function lineChart(title: string, xLabel: string, yLabel: string, series: Series[], width = 760, height = 340): string {
  const left = 64;
  const right = 190;
  const top = 34;
  const bottom = 46;
  const all = series.flatMap((s) => s.points);
  const xt = ticks(Math.max(...all.map((p) => p[0]), 0));
  const yt = ticks(Math.max(...all.map((p) => p[1]), 0));
  const xMax = xt[xt.length - 1] || 1;
  const yMax = yt[yt.length - 1] || 1;
  const w = width - left - right;
  const h = height - top - bottom;
  const X = (x: number) => +(left + (x / xMax) * w).toFixed(1);
  const Y = (y: number) => +(top + h - (y / yMax) * h).toFixed(1);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${left}" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  for (const t of yt) out.push(`<line x1="${left}" x2="${left + w}" y1="${Y(t)}" y2="${Y(t)}" stroke="#e5e5e5"/>`, `<text x="${left - 6}" y="${Y(t) + 4}" text-anchor="end">${label(t)}</text>`);
  for (const t of xt) out.push(`<text x="${X(t)}" y="${top + h + 16}" text-anchor="middle">${label(t)}</text>`);
  out.push(
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${top + h}" stroke="#333"/>`,
    `<line x1="${left}" x2="${left + w}" y1="${top + h}" y2="${top + h}" stroke="#333"/>`,
    `<text x="${left + w / 2}" y="${height - 8}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text transform="translate(14 ${top + h / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const colour = s.colour ?? COLOURS[i % COLOURS.length];
    const pts = s.points.map(([x, y]) => `${X(x)},${Y(y)}`);
    if (pts.length > 1) out.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${pts.join(' ')}"/>`);
    for (const [x, y] of s.points) out.push(`<circle cx="${X(x)}" cy="${Y(y)}" r="2.5" fill="${colour}"/>`);
    const ly = top + 8 + i * 18;
    out.push(`<rect x="${left + w + 16}" y="${ly - 8}" width="12" height="4" fill="${colour}"/>`, `<text x="${left + w + 34}" y="${ly - 2}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/** Charts one under another in one SVG. */
export function stack(charts: string[]): string {
  const sizes = charts.map((c) => /width="(\d+)" height="(\d+)"/.exec(c) as RegExpExecArray).map((m) => [Number(m[1]), Number(m[2])]);
  const width = Math.max(...sizes.map((s) => s[0]));
  const height = sizes.reduce((s, [, h]) => s + h, 0);
  let y = 0;
  const parts = charts.map((c, i) => {
    const g = `<g transform="translate(0 ${y})">${c.replace(/^<svg[^>]*>/, '').replace(/<\/svg>$/, '')}</g>`;
    y += sizes[i][1];
    return g;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">\n${parts.join('\n')}\n</svg>\n`;
}
