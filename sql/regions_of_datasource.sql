-- In which regions did a datasource appear, with its number of trips there.
with params as (
    select 'cheap_mobile' as datasource_name
),

final as (
    select r.name as region, count(*) as trips
    from trips.fact_trips f
    join trips.dim_datasource d on d.datasource_key = f.datasource_key
    join params p on lower(d.name) = lower(p.datasource_name)
    join trips.dim_region r on r.region_key = f.region_key
    group by r.name
)

select * from final
order by trips desc, region
