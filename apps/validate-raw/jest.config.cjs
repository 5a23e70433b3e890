module.exports = { displayName: 'validate-raw', preset: '../../jest.preset.cjs', rootDir: __dirname };
