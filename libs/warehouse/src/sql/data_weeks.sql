-- The first and last week holding trips: the default period of the weekly questions.
select to_char(min(week_start_date), 'YYYY-MM-DD') as first_week, to_char(max(week_start_date), 'YYYY-MM-DD') as last_week
from trips.agg_weekly_region
