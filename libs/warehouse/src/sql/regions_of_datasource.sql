-- The regions where a datasource appeared, with its number of trips there: "in which regions did
-- cheap_mobile appear". From the aggregate of trips per datasource and region, kept in step with
-- the facts by every load: the facts themselves are not read.
--   $1  datasource_key  (select datasource_key from trips.dim_datasource where lower(name) = 'cheap_mobile')
select r.name as region, sum(a.trips) as trips
from trips.agg_datasource_region a
join trips.dim_region r on r.region_key = a.region_key
where a.datasource_key = $1
group by r.name
order by trips desc, r.name
