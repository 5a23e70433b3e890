-- One row per hour of the day; the key is the hour itself, so facts need no lookup.
with hours as (
    select cast(n as integer) as hour_of_day
    from {{ int_series(0, 23) }}
),

final as (
    select
        hour_of_day as time_of_day_key,
        hour_of_day,
        lpad(cast(hour_of_day as varchar), 2, '0') || ':00-'
            || lpad(cast(hour_of_day + 1 as varchar), 2, '0') || ':00' as label,
        case
            when hour_of_day < 6 then 'night'
            when hour_of_day < 12 then 'morning'
            when hour_of_day < 18 then 'afternoon'
            else 'evening'
        end as day_part
    from hours
)

select * from final
