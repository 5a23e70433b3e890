-- The regions where a datasource appeared, with its number of trips there: "in which regions did
-- cheap_mobile appear".
--   $1  datasource_key  (select datasource_key from trips.dim_datasource where lower(name) = 'cheap_mobile')
select r.name as region, count(*) as trips
from trips.fact_trips f
join trips.dim_region r on r.region_key = f.region_key
where f.datasource_key = $1
group by r.name
order by trips desc, r.name
