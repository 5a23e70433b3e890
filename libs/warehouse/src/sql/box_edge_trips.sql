-- How many trips lie in the cells along a box's edge, from the weekly cell aggregates, and how many
-- trips the period holds: what a box question reads trip by trip (weekly_trips_box_side.sql,
-- weekly_trips_box_both.sql) against what reading every trip of the period reads
-- (weekly_trips_box_scan.sql). The edge is every cell the box touches but those of the whole blocks
-- of $8 × $8 cells inside it: 1 as one end's question cuts the box (the cells wholly inside), 4 as
-- the both-ends question does (its blocks). Each end's edge is counted on its own.
--   $1, $2  first and last week (dates, Mondays)
--   $3..$6  min_lon, min_lat, max_lon, max_lat
--   $7      grid cell size in degrees
--   $8      cells per side of a block: 1 or 4
with box as (
    select
        cast($3 as double precision) as min_lon,
        cast($4 as double precision) as min_lat,
        cast($5 as double precision) as max_lon,
        cast($6 as double precision) as max_lat,
        cast($7 as double precision) as cell,
        cast($8 as integer) as k,
        cast(0.000000001 as double precision) as eps
),

-- The cells wholly inside the box (ix, iy) and the cells the box touches (ox, oy), as the questions
-- compute them.
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

-- The whole blocks inside the box: block b holds cells k·b to k·b + k - 1.
blocks as (
    select
        cells.*,
        cast(ceil(ix0 / cast(k as double precision)) as bigint) as bx0,
        cast(floor((ix1 + 1) / cast(k as double precision)) - 1 as bigint) as bx1,
        cast(ceil(iy0 / cast(k as double precision)) as bigint) as by0,
        cast(floor((iy1 + 1) / cast(k as double precision)) - 1 as bigint) as by1
    from cells
),

-- The whole blocks' cell range (rx, ry); without one, an empty range: every cell touched is edge.
ring as (
    select
        blocks.*,
        case when bx0 <= bx1 and by0 <= by1 then k * bx0 else ox1 + 1 end as rx0,
        case when bx0 <= bx1 and by0 <= by1 then k * bx1 + k - 1 else ox1 end as rx1,
        case when bx0 <= bx1 and by0 <= by1 then k * by0 else oy1 + 1 end as ry0,
        case when bx0 <= bx1 and by0 <= by1 then k * by1 + k - 1 else oy1 end as ry1
    from blocks
)

select
    (select coalesce(sum(a.trips), 0)
        from trips.agg_weekly_origin_cell a, ring r
        where a.week_start_date between cast($1 as date) and cast($2 as date)
            and a.origin_cell_x between r.ox0 and r.ox1 and a.origin_cell_y between r.oy0 and r.oy1
            and not (a.origin_cell_x between r.rx0 and r.rx1 and a.origin_cell_y between r.ry0 and r.ry1)) as origin_edge_trips,
    (select coalesce(sum(a.trips), 0)
        from trips.agg_weekly_dest_cell a, ring r
        where a.week_start_date between cast($1 as date) and cast($2 as date)
            and a.dest_cell_x between r.ox0 and r.ox1 and a.dest_cell_y between r.oy0 and r.oy1
            and not (a.dest_cell_x between r.rx0 and r.rx1 and a.dest_cell_y between r.ry0 and r.ry1)) as dest_edge_trips,
    (select coalesce(sum(trips), 0)
        from trips.agg_weekly_region
        where week_start_date between cast($1 as date) and cast($2 as date)) as period_trips
