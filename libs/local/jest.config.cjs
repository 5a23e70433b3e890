module.exports = { displayName: 'local', preset: '../../jest.preset.cjs', rootDir: __dirname };
