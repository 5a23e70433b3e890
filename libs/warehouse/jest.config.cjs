module.exports = { displayName: 'warehouse', preset: '../../jest.preset.cjs', rootDir: __dirname };
