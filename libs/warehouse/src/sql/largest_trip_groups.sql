-- The largest groups of similar trips: same region, origin cell, destination cell and time-of-day
-- bucket (grid and bucket sizes are recorded in each group), with the centres of their cells.
--   $1  how many groups
--   $2  region_key to keep to (as the warehouse gives it back), or '' for every region
--   $3  how many large groups to read in class order first (at least $1; queries.ts, largestGroups)
-- $2 is text (it may be ''), and PostgreSQL keeps keys as uuid: `region` is the key as the
-- warehouse keeps it (no row if $2 is ''), which the index of a region's large groups is read by.
with region as (
    select region_key from trips.dim_region where cast(region_key as varchar(36)) = $2
),

classed as (
    -- The first $3 large groups by size class (size_class is null for the others; on PostgreSQL a
    -- partial index holds just the large ones, largest class first, and a constant limit reads them
    -- from its top; a second one holds them by region and class, read from the top of the region's).
    -- Every group of a higher class than the last one read is among them. One of the two reads
    -- returns nothing: every region's when $2 names one, the region's when $2 is ''.
    select * from (
        select a.trip_group_key, a.trips, a.size_class
        from trips.agg_trip_group a
        where a.size_class is not null and $2 = ''
        order by a.size_class desc
        limit $3
    ) every_region
    union all
    select * from (
        select a.trip_group_key, a.trips, a.size_class
        from trips.agg_trip_group a
        where a.size_class is not null and a.region_key = (select region_key from region)
        order by a.size_class desc
        limit $3
    ) one_region
),

picked as (
    select trip_group_key, trips, size_class from classed order by trips desc, trip_group_key limit $1
),

-- How many large groups `classed` read, and the lowest class among them and among the picks.
read_classes as (
    select count(*) as groups, min(size_class) as lowest from classed
),

picked_class as (
    select min(size_class) as lowest from picked
),

-- The picks are the largest large groups unless a group left unread could beat one of them: that
-- takes a full read ($3 groups) whose lowest pick is of the lowest class read (a group of a lower
-- class has fewer trips than any of a higher one, and every group of a higher class was read).
top as (
    select trip_group_key, trips from picked
    where (select groups from read_classes) < $3 or (select lowest from picked_class) > (select lowest from read_classes)
    union all
    -- Otherwise every group of the picks' lowest class or higher (a scan of the aggregate; rare:
    -- $3 large groups of that class or higher, most of them tied).
    select a.trip_group_key, a.trips
    from trips.agg_trip_group a
    where a.size_class >= (select lowest from picked_class) and ($2 = '' or a.region_key in (select region_key from region))
        and (select groups from read_classes) = $3 and (select lowest from picked_class) = (select lowest from read_classes)
    union all
    -- Every other group, read only if the large ones are fewer than asked for (then they are all in
    -- `classed`, and the rest are smaller): of every region, or those among the region's groups
    -- in the dimension (a small group keeps no region). Every small group joined with the
    -- dimension, then filtered by region, took 450 ms for Lisbon's 33k groups at 1M trips right
    -- after the load (before PostgreSQL had analyzed either table), against 77 ms this way (76 and
    -- 74 ms once analyzed). One read, not one per case: each could start parallel workers, which
    -- start even when the read's condition then says no (3-4 ms each).
    select a.trip_group_key, a.trips
    from trips.agg_trip_group a
    where a.size_class is null and (select groups from read_classes) < $1
        and ($2 = '' or a.trip_group_key in (select g.trip_group_key from trips.dim_trip_group g where g.region_key = (select region_key from region)))
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
