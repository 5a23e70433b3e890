-- One row per calendar day on which a trip of the day's clean rows started (ISO weeks start on Monday).
with clean as (
    select * from clean_trips
),

dates as (
    select distinct cast(trip_ts as date) as calendar_date
    from clean
),

final as (
    select
        {{ date_key(calendar_date) }} as date_key,
        calendar_date,
        cast(year(calendar_date) as integer) as "year",
        cast(month(calendar_date) as integer) as "month",
        cast(day(calendar_date) as integer) as "day",
        {{ iso_day_of_week(calendar_date) }} as iso_day_of_week,
        {{ iso_year(calendar_date) }} as iso_year,
        {{ iso_week(calendar_date) }} as iso_week,
        {{ week_start(calendar_date) }} as week_start_date
    from dates
)

select * from final
