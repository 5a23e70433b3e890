-- Average number of trips per ISO week whose origin lies in a bounding box (edges included), over
-- the whole weeks from the week of from_date to the week of to_date; weeks without trips count as
-- zero. For destinations use dest_lon/dest_lat; for both, require both. This is the exact
-- brute-force form; `trips query weekly-average --bbox` gives the same answer from the aggregates.
with params as (
    select
        14.22 as min_lon, 49.94 as min_lat, 14.71 as max_lon, 50.18 as max_lat,
        cast('2018-05-28' as date) as from_date, cast('2018-06-10' as date) as to_date
),

period as (
    select
        cast(date_trunc('week', from_date) as date) as first_week,
        cast(date_trunc('week', to_date) as date) as last_week
    from params
),

in_box as (
    select count(*) as trips
    from trips.fact_trips f
    join params p
        on f.origin_lon between p.min_lon and p.max_lon
        and f.origin_lat between p.min_lat and p.max_lat
    join period w
        on f.trip_ts >= w.first_week
        and f.trip_ts < w.last_week + 7
),

final as (
    select
        in_box.trips as total_trips,
        (w.last_week - w.first_week) / 7 + 1 as weeks,
        in_box.trips * 1.0 / ((w.last_week - w.first_week) / 7 + 1) as weekly_average
    from in_box
    cross join period w
)

select * from final
