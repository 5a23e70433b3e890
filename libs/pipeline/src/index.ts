export * from './catalog';
export * from './layout';
export * from './definition';
