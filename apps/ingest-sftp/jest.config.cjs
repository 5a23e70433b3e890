module.exports = { displayName: 'ingest-sftp', preset: '../../jest.preset.cjs', rootDir: __dirname };
