-- Average number of trips per ISO week (Monday, UTC) in one region, over the whole weeks from the
-- week of from_date to the week of to_date; weeks without trips count as zero.
with params as (
    select 'Prague' as region_name, cast('2018-05-28' as date) as from_date, cast('2018-06-10' as date) as to_date
),

period as (
    select
        cast(date_trunc('week', from_date) as date) as first_week,
        cast(date_trunc('week', to_date) as date) as last_week
    from params
),

weekly as (
    select a.week_start_date, sum(a.trips) as trips
    from trips.agg_weekly_region a
    join trips.dim_region r on r.region_key = a.region_key
    join params p on lower(r.name) = lower(p.region_name)
    join period w on a.week_start_date between w.first_week and w.last_week
    group by a.week_start_date
),

final as (
    select
        coalesce(sum(weekly.trips), 0) as total_trips,
        (max(w.last_week) - max(w.first_week)) / 7 + 1 as weeks,
        coalesce(sum(weekly.trips), 0) * 1.0 / ((max(w.last_week) - max(w.first_week)) / 7 + 1) as weekly_average
    from period w
    left join weekly on true
)

select * from final
