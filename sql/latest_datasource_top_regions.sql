-- Of the two most common regions, which datasource appeared latest (the datasource of each
-- region's latest trip).
with top_regions as (
    select region_key, sum(trips) as trips
    from trips.agg_weekly_region
    group by region_key
    order by trips desc, region_key
    limit 2
),

ranked as (
    select
        f.region_key,
        f.datasource_key,
        f.trip_ts,
        row_number() over (partition by f.region_key order by f.trip_ts desc, f.datasource_key) as rn
    from trips.fact_trips f
    where f.region_key in (select region_key from top_regions)
),

final as (
    select r.name as region, t.trips, d.name as latest_datasource, k.trip_ts as latest_trip_ts
    from ranked k
    join top_regions t on t.region_key = k.region_key
    join trips.dim_region r on r.region_key = k.region_key
    join trips.dim_datasource d on d.datasource_key = k.datasource_key
    where k.rn = 1
)

select * from final
order by trips desc, region
