module.exports = { displayName: 'load-redshift', preset: '../../jest.preset.cjs', rootDir: __dirname };
