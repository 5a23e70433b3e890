-- Trips per ISO week whose origin and destination both lie in a bounding box (edges included),
-- exact for any box. A box over a city holds most of its pairs of grid cells, too many to sum
-- (39 times the pairs of blocks of 4 × 4 cells on 2M trips). So the box is cut, on each end, into
-- the blocks wholly inside it and a ring of cells around them, less than a block wide, that reaches
-- past the box's edge. Every trip in the box is counted once:
--   * origin and destination in inner blocks: summed from agg_weekly_block_pair;
--   * origin in the ring: checked trip by trip (origin and destination in the box);
--   * origin in an inner block, destination in the ring: checked trip by trip.
-- The rings are read as four disjoint strips each (left, right, bottom, top), which the facts'
-- (x, y) cell indexes serve (a strip narrow in y by a skip scan, one probe per x), so the work follows
-- the box's perimeter, not its area. Each end's strips are ORed in one read of the facts: PostgreSQL
-- plans every read of the facts for each day partition, and eight reads (one per strip) took longer
-- to plan than to run (docs/scale.md); it serves the ORed strips as one bitmap of index probes.
-- Weeks without trips are absent.
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

-- The cells wholly inside the box (ix, iy) and the cells the box touches (ox, oy).
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

-- The blocks whose cells all lie inside the box: block b holds cells 4b to 4b + 3.
blocks as (
    select
        cells.*,
        cast(ceil(ix0 / 4.0) as bigint) as bx0,
        cast(floor((ix1 + 1) / 4.0) - 1 as bigint) as bx1,
        cast(ceil(iy0 / 4.0) as bigint) as by0,
        cast(floor((iy1 + 1) / 4.0) - 1 as bigint) as by1
    from cells
),

-- The inner blocks' cell range (rx, ry); without a whole block inside, an empty x range past the
-- right edge, so the left strip covers the whole outer rectangle and no origin is in a block.
ring as (
    select
        blocks.*,
        case when bx0 <= bx1 and by0 <= by1 then 4 * bx0 else ox1 + 1 end as rx0,
        case when bx0 <= bx1 and by0 <= by1 then 4 * bx1 + 3 else ox1 end as rx1,
        case when bx0 <= bx1 and by0 <= by1 then 4 * by0 else oy1 + 1 end as ry0,
        case when bx0 <= bx1 and by0 <= by1 then 4 * by1 + 3 else oy1 end as ry1
    from blocks
),

inner_blocks as (
    select a.week_start_date, sum(a.trips) as trips
    from trips.agg_weekly_block_pair a, ring r
    where a.week_start_date between cast($1 as date) and cast($2 as date)
        and a.origin_block_x between r.bx0 and r.bx1
        and a.origin_block_y between r.by0 and r.by1
        and a.dest_block_x between r.bx0 and r.bx1
        and a.dest_block_y between r.by0 and r.by1
    group by a.week_start_date
),

-- Origin in the ring: its four strips.
origin_ring as (
    select f.trip_ts, f.origin_lon, f.origin_lat, f.dest_lon, f.dest_lat
    from trips.fact_trips f, ring r
    where (f.origin_cell_x between r.ox0 and r.rx0 - 1 and f.origin_cell_y between r.oy0 and r.oy1)
        or (f.origin_cell_x between r.rx1 + 1 and r.ox1 and f.origin_cell_y between r.oy0 and r.oy1)
        or (f.origin_cell_x between r.rx0 and r.rx1 and f.origin_cell_y between r.oy0 and r.ry0 - 1)
        or (f.origin_cell_x between r.rx0 and r.rx1 and f.origin_cell_y between r.ry1 + 1 and r.oy1)
),

-- Destination in the ring, origin in an inner block: the destination's four strips. The origin's
-- cell is compared as `+ 0`, which no index matches: the strips are narrow, the inner blocks wide,
-- and the planner, not knowing either range, must not read the trips by their origin.
dest_ring as (
    select f.trip_ts, f.origin_lon, f.origin_lat, f.dest_lon, f.dest_lat
    from trips.fact_trips f, ring r
    where ((f.dest_cell_x between r.ox0 and r.rx0 - 1 and f.dest_cell_y between r.oy0 and r.oy1)
            or (f.dest_cell_x between r.rx1 + 1 and r.ox1 and f.dest_cell_y between r.oy0 and r.oy1)
            or (f.dest_cell_x between r.rx0 and r.rx1 and f.dest_cell_y between r.oy0 and r.ry0 - 1)
            or (f.dest_cell_x between r.rx0 and r.rx1 and f.dest_cell_y between r.ry1 + 1 and r.oy1))
        and f.origin_cell_x + 0 between r.rx0 and r.rx1 and f.origin_cell_y + 0 between r.ry0 and r.ry1
),

ring_trips as (
    select cast(date_trunc('week', e.trip_ts) as date) as week_start_date, count(*) as trips
    from (select * from origin_ring union all select * from dest_ring) e, box b
    -- On the day, not on trip_ts itself: the period holds most trips, so an index on trip_ts
    -- would only slow the strips' cell lookups down.
    where cast(e.trip_ts as date) >= cast($1 as date) and cast(e.trip_ts as date) < cast($3 as date)
        and e.origin_lon between b.min_lon and b.max_lon
        and e.origin_lat between b.min_lat and b.max_lat
        and e.dest_lon between b.min_lon and b.max_lon
        and e.dest_lat between b.min_lat and b.max_lat
    group by 1
)

select to_char(week_start_date, 'YYYY-MM-DD') as week_start_date, sum(trips) as trips
from (select * from inner_blocks union all select * from ring_trips) parts
group by week_start_date
