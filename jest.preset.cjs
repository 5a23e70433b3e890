// Shared Jest settings: TypeScript through SWC (no type-check at test time; `nx run-many -t build` type-checks),
// workspace path aliases mapped to the libs' sources.
const { pathsToModuleNameMapper } = require('./tools/jest/paths.cjs');

module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper: pathsToModuleNameMapper(),
  testMatch: ['**/?(*.)+(spec).ts'],
  maxWorkers: 2,
  // Integration tests start real servers; on a loaded 2-core machine that takes seconds.
  testTimeout: 60_000,
};
