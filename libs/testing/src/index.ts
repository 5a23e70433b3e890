export * from './athena-fake';
export * from './fixtures';
export * from './sqlglot';
export * from './validated';
