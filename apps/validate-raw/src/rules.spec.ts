import { checkRow, headerMatches, normaliseField, validDatetime, visibleControls, withinLimit } from './rules';

const good = ['Prague', 'POINT (14.4973794438195 50.00136875782316)', 'POINT (14.43 50.04)', '2018-05-28 09:03:40', 'funny_car'];
const withField = (i: number, v: string) => good.map((f, j) => (j === i ? v : f));

describe('row rules', () => {
  it('tells a coordinate within its range as Number would read it, at the limit and with an exponent too', () => {
    const cases: Array<[string, number, boolean]> = [
      ['14.4973794438195', 180, true],
      ['-180', 180, true],
      ['180.0000000000000001', 180, true], // read as 180
      ['180.00000000000003', 180, false],
      ['-180.5', 180, false],
      ['179.99999999999999999', 180, true],
      ['0000180', 180, true],
      ['181', 180, false],
      ['1.8e2', 180, true],
      ['18000e-2', 180, true],
      ['1.81e2', 180, false],
      ['1e400', 180, false],
      ['9'.repeat(400), 180, false],
      ['.5', 90, true],
      ['5.', 90, true],
      ['90.0000000000000001', 90, true],
      ['+90.5', 90, false],
    ];
    for (const [num, limit, inside] of cases) {
      expect({ num, inside: withinLimit(num, limit) }).toEqual({ num, inside });
      expect({ num, inside: Math.abs(Number(num)) <= limit }).toEqual({ num, inside });
    }
  });

  it('passes a good row, with spacing and case of POINT free', () => {
    expect(checkRow(good, false)).toBeUndefined();
    expect(checkRow(withField(1, '  point(  -9.1 38.7 ) ').map(normaliseField), false)).toBeUndefined();
  });

  it.each([
    [withField(0, ' '), 'missing_region'],
    [withField(4, ''), 'missing_datasource'],
    [withField(1, 'POINT (14.4)'), 'bad_origin_wkt'],
    [withField(1, 'POINT (abc 50)'), 'bad_origin_wkt'],
    [withField(2, 'LINESTRING (1 2, 3 4)'), 'bad_destination_wkt'],
    [withField(1, 'POINT (180.0001 50)'), 'origin_out_of_range'],
    [withField(2, 'POINT (14 -90.5)'), 'destination_out_of_range'],
    [withField(3, '2018-05-28 24:00:00'), 'bad_datetime'],
    [withField(3, '2019-02-29 10:00:00'), 'bad_datetime'],
    [[...good, 'x'], 'column_count'],
    [good.slice(0, 4), 'column_count'],
    [[''], 'blank_line'],
  ])('rejects %j as %s', (fields, reason) => {
    expect(checkRow(fields.map(normaliseField), false)?.reason).toBe(reason);
  });

  it('reports the first broken rule of a row breaking several', () => {
    expect(checkRow(['', 'bad', 'bad', 'bad', ''], false)?.reason).toBe('missing_region');
    expect(checkRow(good, true)?.reason).toBe('unterminated_quote');
  });

  it('accepts the documented datetime forms and the boundary coordinates', () => {
    expect(validDatetime('2018-05-28T09:03:40.123456')).toBe(true);
    expect(validDatetime('2020-02-29 00:00:00')).toBe(true);
    expect(validDatetime('2018-05-28 09:03')).toBe(false);
    expect(checkRow(withField(1, 'POINT (-180 90)'), false)).toBeUndefined();
  });

  it('matches the header case-insensitively and exactly by column', () => {
    expect(headerMatches([' Region', 'ORIGIN_COORD', 'destination_coord', 'datetime', 'datasource '])).toBe(true);
    expect(headerMatches(['region', 'origin', 'destination_coord', 'datetime', 'datasource'])).toBe(false);
  });

  it.each([
    ['a NUL byte (PostgreSQL COPY refuses it)', withField(0, 'Pra\u0000gue'), 'region holds the control character U+0000 at position 4'],
    ['a line break inside a quoted field (Athena\'s CSV reader splits the row)', withField(4, 'funny\ncar'), 'datasource holds the control character U+000A'],
    ['a carriage return', withField(4, 'funny\rcar'), 'U+000D'],
    ['a C1 control', withField(0, 'Prague\u0085'), 'U+0085'],
    ['a line separator', withField(0, 'Pra\u2028gue'), 'U+2028'],
    ['a right-to-left override', withField(0, '\u202EPrague'), 'U+202E'],
  ])('rejects %s as control_character, naming the field and the character', (_what, fields, detail) => {
    const problem = checkRow(fields.map(normaliseField), false);
    expect(problem?.reason).toBe('control_character');
    expect(problem?.detail).toContain(detail);
  });

  it('rejects a backslash in any field, which Athena\'s CSV reader would take as an escape', () => {
    expect(checkRow(withField(0, 'Prague\\Old Town'), false)).toEqual({ reason: 'backslash', detail: "region holds a backslash at position 7, which Athena's CSV reader takes as an escape" });
    expect(checkRow(withField(4, 'funny\\'), false)?.reason).toBe('backslash');
  });

  it('rejects names longer than the warehouse accepts, counted in UTF-8 bytes, and oversized coordinates', () => {
    expect(checkRow(withField(0, 'a'.repeat(256)), false)).toBeUndefined();
    expect(checkRow(withField(0, 'é'.repeat(129)), false)).toMatchObject({ reason: 'field_too_long', detail: 'region is 258 bytes long; at most 256 are accepted' });
    expect(checkRow(withField(4, 'x'.repeat(257)), false)?.reason).toBe('field_too_long');
    // A two-megabyte coordinate is a valid number, but no reader after this one takes the line.
    expect(checkRow(withField(1, `POINT (14.${'4'.repeat(2_000_000)} 50)`), false)?.reason).toBe('field_too_long');
  });

  it('normalises whitespace and invisible characters the same way for every reader, so lookalike names are one name', () => {
    expect(normaliseField('Prague')).toBe('Prague');
    expect(normaliseField('Prague\u00a0')).toBe('Prague');
    expect(normaliseField('\ufeffPrague')).toBe('Prague');
    expect(normaliseField('Pra\u200bgue')).toBe('Prague');
    expect(normaliseField('  Hamburg \t\u3000 Altona ')).toBe('Hamburg Altona');
    // NFC: a composed and a decomposed "á" are one character.
    expect(normaliseField('Pra\u0301gue')).toBe(normaliseField('Pr\u00e1gue'));
    // A non-breaking space inside a WKT point: JavaScript's \s matches it, the engines' do not; after normalisation it is a space.
    const nbsp = withField(1, 'POINT\u00a0(14.4\u00a050.0)').map(normaliseField);
    expect(nbsp[1]).toBe('POINT (14.4 50.0)');
    expect(checkRow(nbsp, false)).toBeUndefined();
  });

  it('refuses trip dates outside the accepted range, which a far-future or ancient date would otherwise stretch every weekly question to', () => {
    const dates = { min: '2000-01-01', max: '2019-05-28' };
    expect(checkRow(withField(3, '2018-05-28 09:03:40'), false, dates)).toBeUndefined();
    expect(checkRow(withField(3, '9999-12-31 23:59:59'), false, dates)).toMatchObject({ reason: 'datetime_out_of_range', detail: expect.stringContaining('2000-01-01 to 2019-05-28') });
    expect(checkRow(withField(3, '1000-01-01 00:00:00'), false, dates)?.reason).toBe('datetime_out_of_range');
    expect(checkRow(withField(3, '2019-05-28 23:59:59'), false, dates)).toBeUndefined();
    expect(checkRow(withField(3, '2019-05-29 00:00:00'), false, dates)?.reason).toBe('datetime_out_of_range');
  });

  it('makes control characters visible in quarantine text', () => {
    expect(visibleControls('a\u0000b\nc\u2028')).toBe('a\\u0000b\\u000ac\\u2028');
  });
});

describe('validDatetime', () => {
  it.each([
    ['2018-05-28 09:03:40', true],
    ['2018-05-28T09:03:40', true],
    ['2018-05-28 09:03:40.5', true],
    ['2000-02-29 23:59:59', true],
    ['1900-02-29 00:00:00', false],
    ['2018-04-31 00:00:00', false],
    ['2018-00-10 00:00:00', false],
    ['2018-13-10 00:00:00', false],
    ['2018-05-00 00:00:00', false],
    ['2018-05-28 23:60:00', false],
    ['2018-05-28 23:00:60', false],
    ['0099-05-28 10:00:00', false],
    ['0100-05-28 10:00:00', true],
    ['2018-05-28x09:03:40', false],
    ['2018/05/28 09:03:40', false],
    ['2018-05-2a 09:03:40', false],
    ['２018-05-28 09:03:40', false],
    ['2018-05-28 09:03:4', false],
    ['2018-05-28 09:03:40.1234567', false],
  ])('reads %j as %s, with or without a fraction', (text, ok) => {
    expect(validDatetime(text)).toBe(ok);
  });
});
