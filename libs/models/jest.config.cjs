module.exports = { displayName: 'models', preset: '../../jest.preset.cjs', rootDir: __dirname };
