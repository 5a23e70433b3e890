module.exports = { displayName: 'trips-cli', preset: '../../jest.preset.cjs', rootDir: __dirname };
