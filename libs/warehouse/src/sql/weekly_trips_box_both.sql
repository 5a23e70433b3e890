-- Trips per ISO week whose origin and destination both lie in a bounding box (edges included).
-- Pairs of cells rarely repeat, so no aggregate helps: the trips themselves are filtered.
-- Weeks without trips are absent.
--   $1      first week (a Monday);  $2  the day after the last week
--   $3..$6  min_lon, min_lat, max_lon, max_lat
-- Counted per week first, the week formatted after: grouping on a formatted string sorted every row.
select to_char(week, 'YYYY-MM-DD') as week_start_date, trips
from (
    select cast(date_trunc('week', trip_ts) as date) as week, count(*) as trips
    from trips.fact_trips
    -- On the day, not on trip_ts itself: the period holds most trips, and reading them through
    -- the trip_ts index is slower than reading the table.
    where cast(trip_ts as date) >= cast($1 as date) and cast(trip_ts as date) < cast($2 as date)
        and origin_lon between cast($3 as double precision) and cast($5 as double precision)
        and origin_lat between cast($4 as double precision) and cast($6 as double precision)
        and dest_lon between cast($3 as double precision) and cast($5 as double precision)
        and dest_lat between cast($4 as double precision) and cast($6 as double precision)
    group by 1
) weeks
