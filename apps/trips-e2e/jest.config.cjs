module.exports = { displayName: 'trips-e2e', preset: '../../jest.preset.cjs', rootDir: __dirname, testTimeout: 600_000, maxWorkers: 1 };
