export * from './object-store';
export * from './ds-lock';
