-- The region of a name, ignoring case: how `trips query` turns --region into a key.
--   $1  name  (e.g. 'prague')
select region_key, name
from trips.dim_region
where lower(name) = lower($1)
