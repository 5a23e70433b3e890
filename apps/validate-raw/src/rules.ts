/** Row rules of validate-raw, checked in this order: a row breaking several gets the first (README.md). */
export const ROW_REASONS = [
  'unterminated_quote',
  'blank_line',
  'column_count',
  'missing_region',
  'missing_datasource',
  'bad_origin_wkt',
  'origin_out_of_range',
  'bad_destination_wkt',
  'destination_out_of_range',
  'bad_datetime',
] as const;
export type RowReason = (typeof ROW_REASONS)[number];

export const FILE_REASONS = ['empty_file', 'bad_header', 'not_utf8'] as const;
export type FileReason = (typeof FILE_REASONS)[number];

export const HEADER = ['region', 'origin_coord', 'destination_coord', 'datetime', 'datasource'] as const;

const NUM = String.raw`[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?`;
const WKT = new RegExp(String.raw`^\s*point\s*\(\s*(${NUM})\s+(${NUM})\s*\)\s*$`, 'i');
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?$/;

export interface RowProblem {
  reason: RowReason;
  detail: string;
}

/** True when the header names the expected columns (case and surrounding spaces ignored). */
export function headerMatches(fields: string[]): boolean {
  return fields.length === HEADER.length && fields.every((f, i) => f.trim().toLowerCase() === HEADER[i]);
}

function point(text: string, which: 'origin' | 'destination'): RowProblem | undefined {
  const m = WKT.exec(text);
  if (!m) return { reason: which === 'origin' ? 'bad_origin_wkt' : 'bad_destination_wkt', detail: `${which}_coord is not a WKT point "POINT (lon lat)": ${JSON.stringify(text.slice(0, 80))}` };
  const lon = Number(m[1]);
  const lat = Number(m[2]);
  if (!(lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90)) {
    return { reason: which === 'origin' ? 'origin_out_of_range' : 'destination_out_of_range', detail: `${which} lon ${lon} lat ${lat} outside [-180,180] x [-90,90]` };
  }
  return undefined;
}

/** A real calendar date and time of day, 'YYYY-MM-DD HH:MM:SS' with optional fraction and 'T'. */
export function validDatetime(text: string): boolean {
  const m = DATETIME.exec(text.trim());
  if (!m) return false;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  const t = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d && t.getUTCHours() === h && t.getUTCMinutes() === mi && t.getUTCSeconds() === s;
}

/** The first rule a data row breaks, or undefined when it passes. */
export function checkRow(fields: string[], unterminated: boolean): RowProblem | undefined {
  if (unterminated) return { reason: 'unterminated_quote', detail: 'a quoted field is still open at the end of the file (truncated file?)' };
  if (fields.length === 1 && fields[0].trim() === '') return { reason: 'blank_line', detail: 'empty line' };
  if (fields.length !== HEADER.length) return { reason: 'column_count', detail: `expected ${HEADER.length} columns, got ${fields.length}` };
  const [region, origin, destination, datetime, datasource] = fields;
  if (region.trim() === '') return { reason: 'missing_region', detail: 'region is blank' };
  if (datasource.trim() === '') return { reason: 'missing_datasource', detail: 'datasource is blank' };
  const problem = point(origin, 'origin') ?? point(destination, 'destination');
  if (problem) return problem;
  if (!validDatetime(datetime)) return { reason: 'bad_datetime', detail: `datetime is not a real "YYYY-MM-DD HH:MM:SS": ${JSON.stringify(datetime.slice(0, 40))}` };
  return undefined;
}
