module.exports = { displayName: 'dag-generator', preset: '../../jest.preset.cjs', rootDir: __dirname };
