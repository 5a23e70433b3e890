import type { ModelContract } from '../../contract';

export const dimTimeOfDayContract: ModelContract = {
  model: 'dim_time_of_day',
  grain: 'one row per hour of the day',
  key: ['time_of_day_key'],
  notNull: ['time_of_day_key', 'hour_of_day', 'label', 'day_part'],
  acceptedValues: [{ column: 'day_part', values: ['night', 'morning', 'afternoon', 'evening'] }],
  rowCount: 24,
};
