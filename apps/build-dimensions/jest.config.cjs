module.exports = { displayName: 'build-dimensions', preset: '../../jest.preset.cjs', rootDir: __dirname };
