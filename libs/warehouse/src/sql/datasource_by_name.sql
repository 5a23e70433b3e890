-- The datasource of a name, ignoring case: how `trips query` turns --datasource into a key.
--   $1  name  (e.g. 'cheap_mobile')
select datasource_key
from trips.dim_datasource
where lower(name) = lower($1)
