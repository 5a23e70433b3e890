// Lint rules for the whole workspace. The module-boundary rule enforces the arrows of
// ARCHITECTURE.md: apps depend on libs, libs never on apps, core on nothing of ours.
import nx from '@nx/eslint-plugin';

// Which scope may import which; tests may also import the local stand-ins (@trips/local) and the fakes and fixtures (@trips/testing).
const DEP_CONSTRAINTS = [
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
  { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:lib'] },
  { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:lib'] },
  // The AWS stacks derive from the definition, the catalog and the apps' settings, and upload the DAG the generator renders.
  { sourceTag: 'type:stacks', onlyDependOnLibsWithTags: ['type:lib', 'type:tool'] },
  { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
  { sourceTag: 'scope:core', onlyDependOnLibsWithTags: [] },
  { sourceTag: 'scope:pipeline', onlyDependOnLibsWithTags: ['scope:core'] },
  { sourceTag: 'scope:storage', onlyDependOnLibsWithTags: ['scope:core'] },
  { sourceTag: 'scope:secrets', onlyDependOnLibsWithTags: ['scope:core'] },
  { sourceTag: 'scope:models', onlyDependOnLibsWithTags: ['scope:core', 'scope:pipeline'] },
  { sourceTag: 'scope:engine', onlyDependOnLibsWithTags: ['scope:core', 'scope:storage'] },
  { sourceTag: 'scope:warehouse', onlyDependOnLibsWithTags: ['scope:core', 'scope:storage', 'scope:pipeline'] },
  // The local stand-ins (S3 server, PostgreSQL, SFTP server, moto): what `trips` runs on a laptop.
  { sourceTag: 'scope:local', onlyDependOnLibsWithTags: ['scope:core', 'scope:storage'] },
  // Fakes and fixtures for tests only.
  { sourceTag: 'scope:testing', onlyDependOnLibsWithTags: ['scope:core', 'scope:storage', 'scope:pipeline', 'scope:local'] },
  // What every task app does around its work: settings, secrets, the store, the day's lock.
  { sourceTag: 'scope:runtime', onlyDependOnLibsWithTags: ['scope:core', 'scope:pipeline', 'scope:storage', 'scope:secrets', 'scope:engine', 'scope:models', 'scope:warehouse'] },
  { sourceTag: 'scope:task', onlyDependOnLibsWithTags: ['scope:core', 'scope:pipeline', 'scope:storage', 'scope:secrets', 'scope:engine', 'scope:models', 'scope:warehouse', 'scope:runtime'] },
  { sourceTag: 'scope:dags', onlyDependOnLibsWithTags: ['scope:pipeline'] },
  { sourceTag: 'scope:stacks', onlyDependOnLibsWithTags: ['scope:core', 'scope:pipeline', 'scope:engine', 'scope:warehouse', 'scope:runtime', 'scope:dags'] },
  { sourceTag: 'scope:cli', onlyDependOnLibsWithTags: ['scope:core', 'scope:pipeline', 'scope:storage', 'scope:warehouse', 'scope:local'] },
];

const TEST_DEP_CONSTRAINTS = DEP_CONSTRAINTS.map((c) =>
  c.sourceTag.startsWith('scope:') ? { ...c, onlyDependOnLibsWithTags: [...new Set([...c.onlyDependOnLibsWithTags, 'scope:local', 'scope:testing'])] } : c,
);

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  { ignores: ['**/dist', '**/node_modules', '**/.state', '**/tmp', '**/.venv'] },
  {
    files: ['**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          banTransitiveDependencies: false,
          allow: [],
          depConstraints: DEP_CONSTRAINTS,
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Specs and the fixtures beside them.
    files: ['**/*.spec.ts', '**/fixtures/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': ['error', { enforceBuildableLibDependency: false, allow: [], depConstraints: TEST_DEP_CONSTRAINTS }],
    },
  },
];
