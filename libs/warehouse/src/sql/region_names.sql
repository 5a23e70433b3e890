-- Every region the warehouse knows, by name: what an unknown --region is told.
select name
from trips.dim_region
order by name
