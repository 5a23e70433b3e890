export * from './errors';
export * from './config';
export * from './logger';
export * from './dates';
export * from './manifest';
export * from './cli';
export * from './task-record';
export * from './retry';
