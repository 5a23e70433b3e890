-- The largest groups of similar trips: same region, origin cell, destination cell and time-of-day
-- bucket (grid and bucket sizes are recorded in each group).
with ranked as (
    select g.*, a.trips
    from trips.agg_trip_group a
    join trips.dim_trip_group g on g.trip_group_key = a.trip_group_key
),

final as (
    select
        r.name as region,
        ranked.time_bucket,
        ranked.bucket_minutes,
        (ranked.origin_cell_x + 0.5) * ranked.cell_size_deg as origin_lon,
        (ranked.origin_cell_y + 0.5) * ranked.cell_size_deg as origin_lat,
        (ranked.dest_cell_x + 0.5) * ranked.cell_size_deg as dest_lon,
        (ranked.dest_cell_y + 0.5) * ranked.cell_size_deg as dest_lat,
        ranked.trips
    from ranked
    join trips.dim_region r on r.region_key = ranked.region_key
)

select * from final
order by trips desc
limit 10
