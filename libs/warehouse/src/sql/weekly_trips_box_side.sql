-- Trips per ISO week whose {{side}} point lies in a bounding box (edges included), exact for any
-- box: grid cells wholly inside the box are summed from the weekly cell aggregate; trips in the
-- cells on its edge are checked one by one, as four disjoint strips (left, right, bottom, top) the
-- (x, y) cell indexes serve (a strip narrow in y by a skip scan, one probe per x), so the work follows
-- the box's perimeter, not its area. The strips are ORed in one read of the facts, which PostgreSQL
-- plans once for each day partition, not once per strip (weekly_trips_box_both.sql).
-- Weeks without trips are absent. `{{side}}` is origin or dest (the caller picks the file's side).
--   $1, $2  first and last week (dates, Mondays);  $3  the day after the last week
--   $4..$7  min_lon, min_lat, max_lon, max_lat
--   $8      grid cell size in degrees (grid_cell_sizes.sql)
with box as (
    select
        cast($4 as double precision) as min_lon,
        cast($5 as double precision) as min_lat,
        cast($6 as double precision) as max_lon,
        cast($7 as double precision) as max_lat,
        cast($8 as double precision) as cell,
        -- A margin against rounding: a trip exactly on a cell edge is checked, never guessed.
        cast(0.000000001 as double precision) as eps
),

cells as (
    select
        box.*,
        cast(ceil((min_lon + eps) / cell) as bigint) as ix0,
        cast(floor((max_lon - eps) / cell) - 1 as bigint) as ix1,
        cast(ceil((min_lat + eps) / cell) as bigint) as iy0,
        cast(floor((max_lat - eps) / cell) - 1 as bigint) as iy1,
        cast(floor((min_lon - eps) / cell) as bigint) as ox0,
        cast(floor((max_lon + eps) / cell) as bigint) as ox1,
        cast(floor((min_lat - eps) / cell) as bigint) as oy0,
        cast(floor((max_lat + eps) / cell) as bigint) as oy1
    from box
),

-- The inner cells' x range; without a whole cell inside, an empty range past the right edge, so the
-- left strip covers the whole outer rectangle.
ring as (
    select
        cells.*,
        case when ix0 <= ix1 and iy0 <= iy1 then ix0 else ox1 + 1 end as rx0,
        case when ix0 <= ix1 and iy0 <= iy1 then ix1 else ox1 end as rx1
    from cells
),

inner_cells as (
    select a.week_start_date, sum(a.trips) as trips
    from trips.agg_weekly_{{side}}_cell a, cells c
    where a.week_start_date between cast($1 as date) and cast($2 as date)
        and a.{{side}}_cell_x between c.ix0 and c.ix1
        and a.{{side}}_cell_y between c.iy0 and c.iy1
    group by a.week_start_date
),

edge_trips as (
    select f.trip_ts, f.{{side}}_lon as lon, f.{{side}}_lat as lat
    from trips.fact_trips f, ring r
    where (f.{{side}}_cell_x between r.ox0 and r.rx0 - 1 and f.{{side}}_cell_y between r.oy0 and r.oy1)
        or (f.{{side}}_cell_x between r.rx1 + 1 and r.ox1 and f.{{side}}_cell_y between r.oy0 and r.oy1)
        or (f.{{side}}_cell_x between r.rx0 and r.rx1 and f.{{side}}_cell_y between r.oy0 and r.iy0 - 1)
        or (f.{{side}}_cell_x between r.rx0 and r.rx1 and f.{{side}}_cell_y between r.iy1 + 1 and r.oy1)
),

edge_cells as (
    select cast(date_trunc('week', trip_ts) as date) as week_start_date, count(*) as trips
    from edge_trips e, box b
    -- On the day, not on trip_ts itself: the period holds most trips, so an index on trip_ts
    -- would only slow the strips' cell lookups down (PostgreSQL ANDed the two bitmaps).
    where cast(e.trip_ts as date) >= cast($1 as date) and cast(e.trip_ts as date) < cast($3 as date)
        and e.lon between b.min_lon and b.max_lon
        and e.lat between b.min_lat and b.max_lat
    group by 1
)

select to_char(week_start_date, 'YYYY-MM-DD') as week_start_date, sum(trips) as trips
from (select * from inner_cells union all select * from edge_cells) parts
group by week_start_date
