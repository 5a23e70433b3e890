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

-- The last week holding trips of each of those regions: its latest trip lies in that week, so only
-- that week's trips of the region are read (the (region_key, trip_ts) index), not all of them.
last_week as (
    select a.region_key, max(a.week_start_date) as week_start_date
    from trips.agg_weekly_region a
    where a.region_key in (select region_key from top_regions)
    group by a.region_key
),

ranked as (
    select
        f.region_key,
        f.datasource_key,
        f.trip_ts,
        row_number() over (partition by f.region_key order by f.trip_ts desc, f.datasource_key) as rn
    from trips.fact_trips f
    join last_week w on w.region_key = f.region_key and f.trip_ts >= w.week_start_date
)

select
    r.name as region,
    t.trips,
    d.name as latest_datasource,
    to_char(k.trip_ts, 'YYYY-MM-DD HH24:MI:SS') as latest_trip_ts
from ranked k
join top_regions t on t.region_key = k.region_key
join trips.dim_region r on r.region_key = k.region_key
join trips.dim_datasource d on d.datasource_key = k.datasource_key
where k.rn = 1
order by t.trips desc, r.name
