module.exports = { displayName: 'pipeline', preset: '../../jest.preset.cjs', rootDir: __dirname };
