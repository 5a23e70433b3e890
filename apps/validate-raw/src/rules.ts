import { tableOfLayer } from '@trips/pipeline';

/**
 * Row rules of validate-raw, checked in this order: a row breaking several gets the first (README.md).
 * They are as strict as every later reader: what passes here, DuckDB and Athena parse the same way,
 * and PostgreSQL and Redshift store.
 */
export const ROW_REASONS = [
  'unterminated_quote',
  'blank_line',
  'column_count',
  'control_character',
  'backslash',
  'field_too_long',
  'missing_region',
  'missing_datasource',
  'bad_origin_wkt',
  'origin_out_of_range',
  'bad_destination_wkt',
  'destination_out_of_range',
  'bad_datetime',
  'datetime_out_of_range',
] as const;
export type RowReason = (typeof ROW_REASONS)[number];

export const FILE_REASONS = ['empty_file', 'bad_gzip', 'bad_header', 'not_utf8'] as const;
export type FileReason = (typeof FILE_REASONS)[number];

/**
 * The delivered columns, in order: the validated table's columns but its key (where a row came
 * from: the file and line), with the longest value each accepts in UTF-8 bytes.
 */
const VALIDATED = tableOfLayer('validated');
const INPUT = VALIDATED.columns.filter((c) => !VALIDATED.key.includes(c.name));
export const HEADER = INPUT.map((c) => c.name);
const FIELD_MAX_BYTES: number[] = INPUT.map((c) => c.maxBytes as number);

const NUM = String.raw`[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?`;
// After normalisation the only whitespace left is the ASCII space: ' ' here, not \s, so the rule
// means the same as the engines' regexes (whose \s is ASCII-only).
const WKT = new RegExp(String.raw`^ *point *\( *(${NUM}) +(${NUM}) *\) *$`, 'i');
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?$/;

/**
 * Whitespace, in the one sense both engines and this validator share: every Unicode space separator
 * (Zs: the space, no-break space, the en/em/thin spaces, ideographic space…) and the tab. A run of
 * them becomes one ASCII space; leading and trailing ones go.
 */
const HORIZONTAL_SPACE = /[\t\p{Zs}]+/gu;
/** Invisible characters that only disguise a name (a BOM or zero-width space inside "Prague"): dropped. */
const INVISIBLE = /[\u00AD\u200B-\u200D\u2060\uFEFF]/gu;
/** Characters no field may hold: C0 and C1 controls (NUL, line breaks…), line and paragraph separators, and the remaining format characters (bidirectional overrides…). */
const CONTROL = /[\p{Cc}\p{Zl}\p{Zp}\p{Cf}]/u;
const PLAIN = /^(?:[\x21-\x7e]+(?: [\x21-\x7e]+)*)?$/;

/**
 * A field in canonical form: Unicode NFC (so a composed and a decomposed "ü" are one name), invisible
 * characters dropped, whitespace runs as one ASCII space, trimmed. The common case (printable ASCII
 * with single inner spaces) is returned as it is.
 */
export function normaliseField(text: string): string {
  if (PLAIN.test(text)) return text;
  return text.normalize('NFC').replace(INVISIBLE, '').replace(HORIZONTAL_SPACE, ' ').trim();
}

export interface RowProblem {
  reason: RowReason;
  detail: string;
}

/** Inclusive range of trip dates accepted, 'YYYY-MM-DD'. */
export interface DateRange {
  min: string;
  max: string;
}

/** True when the header names the expected columns (case and surrounding spaces ignored). */
export function headerMatches(fields: string[]): boolean {
  return fields.length === HEADER.length && fields.every((f, i) => normaliseField(f).toLowerCase() === HEADER[i]);
}

const codePoint = (c: string) => `U+${(c.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')}`;

function point(text: string, which: 'origin' | 'destination'): RowProblem | undefined {
  const m = WKT.exec(text);
  if (!m) return { reason: which === 'origin' ? 'bad_origin_wkt' : 'bad_destination_wkt', detail: `${which}_coord is not a WKT point "POINT (lon lat)": ${JSON.stringify(text.slice(0, 80))}` };
  if (!withinLimit(m[1], 180) || !withinLimit(m[2], 90)) {
    return { reason: which === 'origin' ? 'origin_out_of_range' : 'destination_out_of_range', detail: `${which} lon ${Number(m[1])} lat ${Number(m[2])} outside [-180,180] x [-90,90]` };
  }
  return undefined;
}

/**
 * Whether the number `num` (text matching NUM) read as a double lies within [-limit, limit], as
 * `Math.abs(Number(num)) <= limit` says, for an integer `limit`. Its whole part decides unless it
 * equals the limit (where the fraction, rounded, may still make it the limit itself) or an exponent
 * follows: then Number does. Converting a coordinate's 17 significant digits exactly was a sixth of
 * validate-raw's time (two per point, four per row); reading the whole part costs a few characters.
 */
export function withinLimit(num: string, limit: number): boolean {
  const n = num.length;
  const first = num.charCodeAt(0);
  let i = first === 43 || first === 45 ? 1 : 0; // + or -
  let whole = 0;
  for (; i < n; i++) {
    const d = num.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    whole = whole * 10 + d;
  }
  // What follows the whole part: nothing, or a point and digits; anything else is an exponent.
  if (i < n && num.charCodeAt(i) === 46) i++;
  for (; i < n; i++) {
    const d = num.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return Math.abs(Number(num)) <= limit;
  }
  return whole === limit ? Math.abs(Number(num)) <= limit : whole < limit;
}

/** The two ASCII digits at i and i + 1 as a number, NaN if either is not one. */
function twoDigits(text: string, i: number): number {
  const a = text.charCodeAt(i) - 48;
  const b = text.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : NaN;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * A real calendar date and time of day, 'YYYY-MM-DD HH:MM:SS' with optional fraction and 'T', in
 * the proleptic Gregorian calendar, years 0100 to 9999 (what JavaScript's Date reads as written).
 */
export function validDatetime(text: string): boolean {
  let y: number, mo: number, d: number, h: number, mi: number, sec: number;
  if (text.length === 19) {
    // 'YYYY-MM-DD HH:MM:SS', the usual form: read digit by digit (no match arrays, no number parsing).
    const sep = text[10];
    if (text[4] !== '-' || text[7] !== '-' || (sep !== ' ' && sep !== 'T') || text[13] !== ':' || text[16] !== ':') return false;
    y = twoDigits(text, 0) * 100 + twoDigits(text, 2);
    mo = twoDigits(text, 5);
    d = twoDigits(text, 8);
    h = twoDigits(text, 11);
    mi = twoDigits(text, 14);
    sec = twoDigits(text, 17);
    if (Number.isNaN(y + mo + d + h + mi + sec)) return false;
  } else {
    const m = DATETIME.exec(text);
    if (!m) return false;
    [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number);
  }
  if (y < 100 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59) return false;
  const leap = mo === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  return d <= DAYS_IN_MONTH[mo - 1] + (leap ? 1 : 0);
}

/**
 * A record's text when every field is plain: printable ASCII without quotes, single inner spaces,
 * none at either end. Its fields are the text split on commas, already in canonical form, with
 * no control character and one byte a character; nearly every row of a real file is like this.
 */
const PLAIN_RECORD = /^(?:[\x21\x23-\x2b\x2d-\x7e]+(?: [\x21\x23-\x2b\x2d-\x7e]+)*)?(?:,(?:[\x21\x23-\x2b\x2d-\x7e]+(?: [\x21\x23-\x2b\x2d-\x7e]+)*)?)*$/;
const PLAIN_MAX = 1000;

/** True when the record whose whole text is `raw` has only plain fields (see PLAIN_RECORD): checkRow's `plain`. */
export function isPlainRecord(raw: string): boolean {
  return raw.length <= PLAIN_MAX && PLAIN_RECORD.test(raw);
}

/**
 * The first rule a data row breaks, or undefined when it passes. `fields` are normalised
 * (normaliseField): a tab has become a space, a line break or NUL is still there to be refused.
 * `plain`: the record's text passed isPlainRecord, so no field holds a control character and each
 * is as many bytes long as it has characters.
 */
export function checkRow(fields: string[], unterminated: boolean, dates?: DateRange, plain = false): RowProblem | undefined {
  if (unterminated) return { reason: 'unterminated_quote', detail: 'a quoted field is still open at the end of the file (truncated file?)' };
  if (fields.length === 1 && fields[0].trim() === '') return { reason: 'blank_line', detail: 'empty line' };
  if (fields.length !== HEADER.length) return { reason: 'column_count', detail: `expected ${HEADER.length} columns, got ${fields.length}` };
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    const bad = plain ? null : CONTROL.exec(f);
    if (bad) return { reason: 'control_character', detail: `${HEADER[i]} holds the control character ${codePoint(bad[0])} at position ${bad.index + 1}` };
    // Athena reads the validated CSV with OpenCSVSerde, whose escape character is the backslash: a
    // field holding one would read differently there than in DuckDB and PostgreSQL.
    const slash = f.indexOf('\\');
    if (slash >= 0) return { reason: 'backslash', detail: `${HEADER[i]} holds a backslash at position ${slash + 1}, which Athena's CSV reader takes as an escape` };
    const bytes = plain ? f.length : Buffer.byteLength(f);
    const max = FIELD_MAX_BYTES[i];
    if (bytes > max) return { reason: 'field_too_long', detail: `${HEADER[i]} is ${bytes} bytes long; at most ${max} are accepted` };
  }
  const [region, origin, destination, datetime, datasource] = fields;
  if (region === '') return { reason: 'missing_region', detail: 'region is blank' };
  if (datasource === '') return { reason: 'missing_datasource', detail: 'datasource is blank' };
  const problem = point(origin, 'origin') ?? point(destination, 'destination');
  if (problem) return problem;
  if (!validDatetime(datetime)) return { reason: 'bad_datetime', detail: `datetime is not a real "YYYY-MM-DD HH:MM:SS": ${JSON.stringify(datetime.slice(0, 40))}` };
  const day = datetime.slice(0, 10);
  if (dates && (day < dates.min || day > dates.max)) return { reason: 'datetime_out_of_range', detail: `datetime ${datetime} is outside the accepted trip dates ${dates.min} to ${dates.max}` };
  return undefined;
}

/** Control characters made visible (`\u0000`), for quarantine text that any CSV reader can read back. */
export function visibleControls(text: string): string {
  return text.replace(/[\p{Cc}\p{Zl}\p{Zp}]/gu, (c) => `\\u${(c.codePointAt(0) as number).toString(16).padStart(4, '0')}`);
}
