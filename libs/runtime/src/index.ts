export * from './pipeline-task';
