-- The grid cell sizes the trip groups were built with: a box question needs exactly one. Read from
-- the dimension's set of its cell sizes (the catalog's distinctValues), a row per size.
select min(cell_size_deg) as min_deg, max(cell_size_deg) as max_deg
from trips.dim_trip_group_cell_size_deg_values
