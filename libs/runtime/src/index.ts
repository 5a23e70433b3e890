export * from './pipeline-task';
export * from './build-layer';
export * from './model-task';
export * from './settings';
