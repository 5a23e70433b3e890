module.exports = { displayName: 'stacks', preset: '../jest.preset.cjs', rootDir: __dirname };
