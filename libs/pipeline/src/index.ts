export * from './layout';
export * from './definition';
