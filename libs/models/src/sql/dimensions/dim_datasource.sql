-- One row per datasource seen in the day's clean trips; the warehouse merges the days.
with clean as (
    select * from clean_trips
),

datasources as (
    select distinct datasource as name
    from clean
),

final as (
    select
        {{ surrogate_key(name) }} as datasource_key,
        name
    from datasources
)

select * from final
