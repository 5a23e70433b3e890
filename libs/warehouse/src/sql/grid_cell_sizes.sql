-- The grid cell sizes the trip groups were built with: a box question needs exactly one. Min and
-- max, not distinct: one index lookup each on PostgreSQL.
select min(cell_size_deg) as min_deg, max(cell_size_deg) as max_deg
from trips.dim_trip_group
