-- Trips per ISO week (Monday, UTC) of one region, for the weeks from $2 to $3 (week starts, both
-- included); weeks without trips are absent (the caller counts them as zero).
--   $1  region_key  (select region_key from trips.dim_region where lower(name) = lower('Prague'))
--   $2  first week  date, a Monday
--   $3  last week   date, a Monday
select
    to_char(week_start_date, 'YYYY-MM-DD') as week_start_date,
    sum(trips) as trips
from trips.agg_weekly_region
where region_key = $1
    and week_start_date between cast($2 as date) and cast($3 as date)
group by week_start_date
