-- For each of the most common regions, the datasource of its latest trip: "of the two most common
-- regions, which datasource appeared latest".
--   $1  how many of the most common regions (2)
with top_regions as (
    select region_key, sum(trips) as trips
    from trips.agg_weekly_region
    group by region_key
    order by trips desc, region_key
    limit $1
),

-- The latest trip time of each, looked for in the region's last week that holds trips (the
-- aggregate's; a week a load empties leaves it): the trip_ts index read backwards from that week's
-- end, merged across the day partitions, to the region's first trip there. A few rows for a common
-- region, at most a week's trips for any, whatever the number of trips in all. Named twice below,
-- so that PostgreSQL computes it once (it folds a WITH query named once into the query, and this
-- subquery then ran again for every day partition `picked` reads: 110 ms at 98M trips, not 12).
latest as (
    select t.region_key, (
        select max(f.trip_ts)
        from trips.fact_trips f
        where f.region_key = t.region_key
            and f.trip_ts >= w.week_start_date
            and f.trip_ts < w.week_start_date + interval '7 days'
    ) as trip_ts
    from top_regions t
    join (
        select region_key, max(week_start_date) as week_start_date
        from trips.agg_weekly_region
        group by region_key
    ) w on w.region_key = t.region_key
),

-- The datasource of the trip at that time (of several at the same time, the first by key; as
-- text, which orders the same on both warehouses, and PostgreSQL has no min of its uuid keys).
picked as (
    select f.region_key, l.trip_ts, min(cast(f.datasource_key as varchar(36))) as datasource_key
    from trips.fact_trips f
    join latest l on l.region_key = f.region_key and f.trip_ts = l.trip_ts
    group by f.region_key, l.trip_ts
)

select
    r.name as region,
    t.trips,
    d.name as latest_datasource,
    to_char(l.trip_ts, 'YYYY-MM-DD HH24:MI:SS') as latest_trip_ts
from picked k
join latest l on l.region_key = k.region_key
join top_regions t on t.region_key = k.region_key
join trips.dim_region r on r.region_key = k.region_key
join trips.dim_datasource d on cast(d.datasource_key as varchar(36)) = k.datasource_key
order by t.trips desc, r.name
