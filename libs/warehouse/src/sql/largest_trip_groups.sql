-- The largest groups of similar trips: same region, origin cell, destination cell and time-of-day
-- bucket (grid and bucket sizes are recorded in each group), with the centres of their cells.
--   $1  how many groups
--   $2  region_key to keep to (as the warehouse gives it back), or '' for every region
-- The key as text: $2 is text (it may be ''), and PostgreSQL keeps keys as uuid.
with ranked as (
    -- The size classes of the largest large groups, one row per group (size_class is null for the
    -- others; a partial index on PostgreSQL holds just the large ones, largest class first).
    select a.size_class
    from trips.agg_trip_group a
    join trips.dim_trip_group g on g.trip_group_key = a.trip_group_key
    where a.size_class is not null and ($2 = '' or cast(g.region_key as varchar(36)) = $2)
    order by a.size_class desc
    limit $1
),

-- Every group of those classes: a class holds groups of different sizes, and a group of a lower
-- class has fewer trips than any of a higher one, so the largest are among these.
large as (
    select a.trip_group_key, a.trips
    from trips.agg_trip_group a
    join trips.dim_trip_group g on g.trip_group_key = a.trip_group_key
    where a.size_class >= (select min(size_class) from ranked)
        and ($2 = '' or cast(g.region_key as varchar(36)) = $2)
),

-- Every other group, read only if the large ones are fewer than asked for (then they are all in
-- `large`, and the rest are smaller).
top as (
    select trip_group_key, trips from large
    union all
    select a.trip_group_key, a.trips
    from trips.agg_trip_group a
    join trips.dim_trip_group g on g.trip_group_key = a.trip_group_key
    where a.size_class is null and ($2 = '' or cast(g.region_key as varchar(36)) = $2)
        and (select count(*) from ranked) < $1
)

select
    r.name as region,
    g.time_bucket,
    g.bucket_minutes,
    round(cast((g.origin_cell_x + 0.5) * g.cell_size_deg as numeric), 4) as origin_lon,
    round(cast((g.origin_cell_y + 0.5) * g.cell_size_deg as numeric), 4) as origin_lat,
    round(cast((g.dest_cell_x + 0.5) * g.cell_size_deg as numeric), 4) as dest_lon,
    round(cast((g.dest_cell_y + 0.5) * g.cell_size_deg as numeric), 4) as dest_lat,
    t.trips
from (select trip_group_key, trips from top order by trips desc, trip_group_key limit $1) t
join trips.dim_trip_group g on g.trip_group_key = t.trip_group_key
join trips.dim_region r on r.region_key = g.region_key
order by t.trips desc, t.trip_group_key
