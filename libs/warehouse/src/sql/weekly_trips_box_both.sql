-- Trips per ISO week whose origin and destination both lie in a bounding box (edges included).
-- Pairs of cells rarely repeat, so no aggregate helps: the trips themselves are filtered.
-- Weeks without trips are absent.
--   $1      first week (a Monday);  $2  the day after the last week
--   $3..$6  min_lon, min_lat, max_lon, max_lat
select
    to_char(cast(date_trunc('week', trip_ts) as date), 'YYYY-MM-DD') as week_start_date,
    count(*) as trips
from trips.fact_trips
where trip_ts >= cast($1 as date) and trip_ts < cast($2 as date)
    and origin_lon between cast($3 as double precision) and cast($5 as double precision)
    and origin_lat between cast($4 as double precision) and cast($6 as double precision)
    and dest_lon between cast($3 as double precision) and cast($5 as double precision)
    and dest_lat between cast($4 as double precision) and cast($6 as double precision)
group by 1
