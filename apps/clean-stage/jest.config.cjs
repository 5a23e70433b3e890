module.exports = { displayName: 'clean-stage', preset: '../../jest.preset.cjs', rootDir: __dirname };
