-- One row per group of similar trips seen in the day: same region, origin cell, destination cell and
-- time-of-day bucket, for the grid settings given as variables (recorded in each row and in the key).
with clean as (
    select * from clean_trips
),

placed as (
    select
        {{ surrogate_key(region) }} as region_key,
        {{ grid_cell(origin_lon) }} as origin_cell_x,
        {{ grid_cell(origin_lat) }} as origin_cell_y,
        {{ grid_cell(dest_lon) }} as dest_cell_x,
        {{ grid_cell(dest_lat) }} as dest_cell_y,
        {{ time_bucket(trip_ts) }} as time_bucket
    from clean
),

groups as (
    select distinct * from placed
),

final as (
    select
        {{ trip_group_key(region_key, origin_cell_x, origin_cell_y, dest_cell_x, dest_cell_y, time_bucket) }} as trip_group_key,
        region_key,
        origin_cell_x,
        origin_cell_y,
        dest_cell_x,
        dest_cell_y,
        time_bucket,
        cast({{ cell_size_deg }} as double) as cell_size_deg,
        cast({{ bucket_minutes }} as integer) as bucket_minutes
    from groups
)

select * from final
