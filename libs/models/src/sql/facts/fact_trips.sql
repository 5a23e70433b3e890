-- One row per clean trip, with the keys of its dimensions computed by the same macros the
-- dimensions use, so they join without a lookup.
with clean as (
    select * from clean_trips
),

placed as (
    select
        trip_id,
        trip_ts,
        origin_lon,
        origin_lat,
        dest_lon,
        dest_lat,
        {{ surrogate_key(region) }} as region_key,
        {{ surrogate_key(datasource) }} as datasource_key,
        {{ date_key(trip_ts) }} as date_key,
        cast(hour(trip_ts) as integer) as time_of_day_key,
        {{ grid_cell(origin_lon) }} as origin_cell_x,
        {{ grid_cell(origin_lat) }} as origin_cell_y,
        {{ grid_cell(dest_lon) }} as dest_cell_x,
        {{ grid_cell(dest_lat) }} as dest_cell_y,
        {{ time_bucket(trip_ts) }} as time_bucket
    from clean
),

final as (
    select
        trip_id,
        trip_ts,
        origin_lon,
        origin_lat,
        dest_lon,
        dest_lat,
        region_key,
        datasource_key,
        date_key,
        time_of_day_key,
        {{ trip_group_key(region_key, origin_cell_x, origin_cell_y, dest_cell_x, dest_cell_y, time_bucket) }} as trip_group_key,
        origin_cell_x,
        origin_cell_y,
        dest_cell_x,
        dest_cell_y
    from placed
)

select * from final
