import type { ModelContract } from '../../contract';

export const dimDatasourceContract: ModelContract = {
  model: 'dim_datasource',
  grain: 'one row per datasource',
  key: ['datasource_key'],
  notNull: ['datasource_key', 'name'],
  unique: [['name']],
};
