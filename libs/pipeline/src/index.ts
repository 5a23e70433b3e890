export * from './layout';
export * from './definition';
export * from './schemas';
