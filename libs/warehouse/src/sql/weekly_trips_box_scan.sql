-- Trips per ISO week whose origin, destination or both (the condition below, which queries.ts fills
-- in) lie in a bounding box (edges included), counted by reading every trip of the period in order.
-- A box whose edge crosses busy cells costs less this way than from the aggregates: those read the
-- edge's trips one by one, about 30 times the cost per trip of reading them in order, and the edge
-- of a district's box inside a city holds 9% of all trips (box_edge_trips.sql counts them;
-- queries.ts, BOX_SCAN_EDGE_SHARE, chooses).
-- Weeks without trips are absent.
--   $1  first week (a Monday);  $2  the day after the last week
--   $3..$6  min_lon, min_lat, max_lon, max_lat
with box as (
    select
        cast($3 as double precision) as min_lon,
        cast($4 as double precision) as min_lat,
        cast($5 as double precision) as max_lon,
        cast($6 as double precision) as max_lat
)

-- Grouped by the week, then written as text: to_char on every trip in the box cost 0.5 s at 20M.
select to_char(week_start_date, 'YYYY-MM-DD') as week_start_date, trips
from (
    select cast(date_trunc('week', f.trip_ts) as date) as week_start_date, count(*) as trips
    from trips.fact_trips f, box b
    where f.trip_ts >= cast($1 as timestamp) and f.trip_ts < cast($2 as timestamp)
        and {{condition}}
    group by 1
) weeks
