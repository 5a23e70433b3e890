import type { ModelContract } from '../../contract';

export const dimDateContract: ModelContract = {
  model: 'dim_date',
  grain: 'one row per calendar day',
  key: ['date_key'],
  notNull: ['date_key', 'calendar_date', 'year', 'month', 'day', 'iso_day_of_week', 'iso_year', 'iso_week', 'week_start_date'],
  acceptedValues: [{ column: 'iso_day_of_week', values: [1, 2, 3, 4, 5, 6, 7] }],
};
