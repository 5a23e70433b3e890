export * from './object-store';
export * from './ds-lock';
export * from './partition';
export * from './parquet-footer';
export * from './file-store';
