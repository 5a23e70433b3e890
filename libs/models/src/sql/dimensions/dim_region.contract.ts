import type { ModelContract } from '../../contract';

export const dimRegionContract: ModelContract = {
  model: 'dim_region',
  grain: 'one row per region',
  key: ['region_key'],
  notNull: ['region_key', 'name'],
  unique: [['name']],
};
