-- One row per region seen in the day's clean trips; the warehouse merges the days.
with clean as (
    select * from clean_trips
),

regions as (
    select distinct region as name
    from clean
),

final as (
    select
        {{ surrogate_key(name) }} as region_key,
        name
    from regions
)

select * from final
