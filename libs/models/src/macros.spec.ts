import { expand, literal } from './macros';

const both = (sql: string, vars = {}) => ({ duckdb: expand(sql, 'duckdb', vars), athena: expand(sql, 'athena', vars) });

describe('macro expansion', () => {
  it('renders surrogate_key as md5 hex over the arguments as text, nulls replaced by a sentinel', () => {
    expect(both('{{ surrogate_key(region, line_no) }}')).toEqual({
      duckdb: "md5(concat_ws('|', coalesce(cast(region as varchar), '_null_'), coalesce(cast(line_no as varchar), '_null_')))",
      athena: "lower(to_hex(md5(to_utf8(concat_ws('|', coalesce(cast(region as varchar), '_null_'), coalesce(cast(line_no as varchar), '_null_'))))))",
    });
  });

  it('keeps nested parentheses and quoted commas inside one argument', () => {
    expect(expand("{{ surrogate_key(coalesce(a, 'x,(y'), f(b, c)) }}", 'duckdb', {})).toBe(
      "md5(concat_ws('|', coalesce(cast(coalesce(a, 'x,(y') as varchar), '_null_'), coalesce(cast(f(b, c) as varchar), '_null_')))",
    );
  });

  it('renders timestamp parsing and canonical timestamp text per dialect', () => {
    expect(both('{{ parse_ts(datetime) }}')).toEqual({
      duckdb: "cast(replace(trim(datetime), 'T', ' ') as timestamp)",
      athena: "cast(replace(trim(datetime), 'T', ' ') as timestamp)",
    });
    expect(both('{{ ts_text(trip_ts) }}')).toEqual({
      duckdb: "strftime(trip_ts, '%Y-%m-%d %H:%M:%S')",
      athena: "date_format(trip_ts, '%Y-%m-%d %H:%i:%s')",
    });
  });

  it('renders initcap with the list functions of each engine', () => {
    expect(both('{{ initcap(r) }}')).toEqual({
      duckdb: "array_to_string(list_transform(string_split(lower(r), ' '), w -> upper(substr(w, 1, 1)) || substr(w, 2)), ' ')",
      athena: "array_join(transform(split(lower(r), ' '), w -> upper(substr(w, 1, 1)) || substr(w, 2)), ' ')",
    });
  });

  it('collapses whitespace globally on both engines (DuckDB needs the g flag)', () => {
    expect(both('{{ collapse_ws(x) }}')).toEqual({
      duckdb: String.raw`trim(regexp_replace(x, '\s+', ' ', 'g'))`,
      athena: String.raw`trim(regexp_replace(x, '\s+', ' '))`,
    });
  });

  it('extracts WKT longitude and latitude with the same regex on both engines, by name in one match on DuckDB', () => {
    const re = String.raw`'(?i)^\s*point\s*\(\s*([^\s()]+)\s+([^\s()]+)\s*\)\s*$'`;
    expect(both('{{ wkt_lon(c) }}')).toEqual({ duckdb: `cast(regexp_extract(c, ${re}, ['lon', 'lat']).lon as double)`, athena: `cast(regexp_extract(c, ${re}, 1) as double)` });
    expect(both('{{ wkt_lat(c) }}')).toEqual({ duckdb: `cast(regexp_extract(c, ${re}, ['lon', 'lat']).lat as double)`, athena: `cast(regexp_extract(c, ${re}, 2) as double)` });
  });

  it('renders integer division, ISO week parts and integer series per dialect', () => {
    expect(both('{{ int_div(a, 60) }}')).toEqual({ duckdb: '((a) // (60))', athena: 'cast(truncate(cast(a as double) / (60)) as bigint)' });
    expect(both('{{ iso_year(d) }}/{{ iso_week(d) }}/{{ iso_day_of_week(d) }}')).toEqual({
      duckdb: 'cast(isoyear(d) as integer)/cast(weekofyear(d) as integer)/cast(isodow(d) as integer)',
      athena: 'cast(year_of_week(d) as integer)/cast(week_of_year(d) as integer)/cast(day_of_week(d) as integer)',
    });
    expect(both('from {{ int_series(0, 23) }}')).toEqual({
      duckdb: 'from generate_series(0, 23) as series(n)',
      athena: 'from unnest(sequence(0, 23)) as series(n)',
    });
  });

  it('puts the grid settings into cells, buckets and group keys as literals', () => {
    const vars = { cell_size_deg: '0.01', bucket_minutes: 30 };
    expect(expand('{{ grid_cell(origin_lon) }}', 'athena', vars)).toBe("cast(floor((origin_lon) / cast('0.01' as double)) as integer)");
    expect(expand('{{ time_bucket(ts) }}', 'duckdb', vars)).toBe('cast(((hour(ts) * 60 + minute(ts)) // (30)) as integer)');
    expect(expand('{{ trip_group_key(r, a, b, c, d, t) }}', 'duckdb', vars)).toContain(
      "coalesce(cast(t as varchar), '_null_'), coalesce(cast('0.01' as varchar), '_null_'), coalesce(cast(30 as varchar), '_null_')))",
    );
  });

  it('renders variables as quoted or numeric literals, never as raw text', () => {
    expect(expand("where ds = {{ ds }} and n < {{ n }}", 'duckdb', { ds: "2018-05-28'; drop table x; --", n: 5 })).toBe(
      "where ds = '2018-05-28''; drop table x; --' and n < 5",
    );
    expect(() => literal(Number.NaN, 'n')).toThrow('variable n must be a finite number');
  });

  it('names the model and line of an unknown macro, a missing variable, a wrong arity or a broken placeholder', () => {
    expect(() => expand('select\n{{ nope(x) }}', 'duckdb', {}, 'm.sql')).toThrow('m.sql:2: unknown macro nope()');
    expect(() => expand('{{ ds }}', 'duckdb', {}, 'm.sql')).toThrow('m.sql:1: unknown variable {{ ds }}');
    expect(() => expand('{{ int_div(a) }}', 'duckdb', {}, 'm.sql')).toThrow('int_div() takes 2 arguments, got 1');
    expect(() => expand('{{ grid_cell(x) }}', 'duckdb', {}, 'm.sql')).toThrow('grid_cell needs the variable cell_size_deg');
    expect(() => expand('{{ surrogate_key(a, (b) }}', 'duckdb', {}, 'm.sql')).toThrow('unbalanced parentheses or quotes');
    expect(() => expand('{{ ds ', 'duckdb', { ds: 'x' }, 'm.sql')).toThrow("expected '}}'");
  });

  it('leaves text without placeholders alone', () => {
    expect(expand("select '{' as a, '}}' as b", 'athena', {})).toBe("select '{' as a, '}}' as b");
  });
});
