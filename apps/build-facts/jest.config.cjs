module.exports = { displayName: 'build-facts', preset: '../../jest.preset.cjs', rootDir: __dirname };
