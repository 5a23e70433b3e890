import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { CATALOG } from '@trips/pipeline';
import { ROOT } from './trips';

interface Graph {
  graph: { nodes: Record<string, { type: string; data: { tags?: string[] } }>; dependencies: Record<string, Array<{ target: string }>> };
}

const nx = (args: string[]) =>
  execFileSync(process.execPath, [require.resolve('nx/bin/nx'), ...args], {
    cwd: ROOT,
    env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
    encoding: 'utf8',
  });

describe('the project graph', () => {
  let graph: Graph['graph'];
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'trips-graph-'));
    try {
      nx(['graph', `--file=${join(dir, 'graph.json')}`]);
      graph = (JSON.parse(readFileSync(join(dir, 'graph.json'), 'utf8')) as Graph).graph;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  const deps = (p: string) => (graph.dependencies[p] ?? []).map((d) => d.target).filter((t) => t in graph.nodes);
  const isLib = (p: string) => graph.nodes[p].type === 'lib';

  it('has apps depending on libs only, libs never on apps, and core on nothing of ours', () => {
    const projects = Object.keys(graph.nodes);
    expect(projects).toEqual(expect.arrayContaining(['core', 'pipeline', 'storage', 'engine', 'models', 'warehouse', 'testing', 'validate-raw', 'clean-stage', 'build-dimensions', 'build-facts', 'load-redshift', 'trips-cli']));
    for (const p of projects.filter(isLib)) expect({ p, deps: deps(p).filter((d) => !isLib(d)) }).toEqual({ p, deps: [] });
    // The end-to-end tests and the DAG tests run the apps themselves, so they depend on them.
    for (const p of projects.filter((x) => !isLib(x) && x !== 'trips-e2e' && x !== 'dags')) expect({ p, deps: deps(p).filter((d) => !isLib(d)) }).toEqual({ p, deps: [] });
    expect(deps('core')).toEqual([]);
  });

  it('makes the DAG tests depend on the generator and every task app, found by tag', () => {
    expect(deps('dags')).toEqual(expect.arrayContaining(['dag-generator', 'validate-raw', 'clean-stage', 'build-dimensions', 'build-facts', 'load-redshift']));
    expect(deps('dag-generator')).toEqual(['pipeline']);
  });

  it('comes from real imports: each task app depends on the libs it imports', () => {
    expect(deps('validate-raw')).toEqual(expect.arrayContaining(['core', 'pipeline', 'storage']));
    expect(deps('clean-stage')).toEqual(['runtime']);
    expect(deps('runtime')).toEqual(expect.arrayContaining(['engine', 'models', 'pipeline']));
    expect(deps('load-redshift')).toEqual(expect.arrayContaining(['warehouse']));
  });
});

/** Every file under dir (relative to the workspace root), skipping installs, state and build output. */
function files(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    if (['node_modules', 'dist', '.state', '.venv', '__pycache__'].includes(e.name)) continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...files(path));
    else out.push(path);
  }
  return out;
}

/**
 * The code that runs the pipeline, serves its CLI or generates its DAGs. Left out: tests, their
 * fixtures and fakes (libs/testing, apps/trips-e2e), the generated DAG files (written from the
 * definition), and the checks that query a built warehouse from outside (tools/bench,
 * tools/aws-smoke), which, like tests, name what they look at.
 */
const PRODUCTION = [...files('apps'), ...files('libs'), ...files('tools/dag-generator'), ...files('stacks/src'), ...files('bin'), ...files('local')].filter(
  (f) => /\.(ts|mjs|cjs|js|py|sql)$/.test(f) && !/\.spec\.ts$/.test(f) && !f.includes('/fixtures/') && !f.startsWith('libs/testing/') && !f.startsWith('apps/trips-e2e/') && !/\/tests?\//.test(f),
);

describe('the catalog is the one place a table is named', () => {
  it('finds production code to look at', () => {
    expect(PRODUCTION).toContain('libs/pipeline/src/catalog.ts');
    expect(PRODUCTION.filter((f) => f.endsWith('.sql')).length).toBeGreaterThan(5);
    expect(PRODUCTION.length).toBeGreaterThan(50);
  });

  it.each(CATALOG.map((t) => t.id))('names %s only in the catalog and in SQL files', (id) => {
    const word = new RegExp(`\\b${id}\\b`);
    const naming = PRODUCTION.filter((f) => word.test(readFileSync(join(ROOT, f), 'utf8')));
    const elsewhere = naming.filter((f) => f !== 'libs/pipeline/src/catalog.ts' && !f.endsWith('.sql'));
    expect(elsewhere).toEqual([]);
    expect(naming).toContain('libs/pipeline/src/catalog.ts');
  });

  it('places every model SQL file under the layer of its catalog entry, and no other', () => {
    const sqlDir = join('libs', 'models', 'src', 'sql');
    const models = files(sqlDir).filter((f) => f.endsWith('.sql')).map((f) => relative(sqlDir, f));
    const expected = CATALOG.filter((t) => 'model' in t).map((t) => join(t.layer, `${t.id}.sql`));
    expect(models.sort()).toEqual(expected.sort());
  });
});

describe('the documentation', () => {
  const docs = [...files('docs'), ...files('apps'), ...files('libs'), ...files('tools'), ...files('local'), ...files('dags')].filter((f) => f.endsWith('.md'));

  it('has the design as built in docs/architecture.md, linked from the README', () => {
    expect(existsSync(join(ROOT, 'docs', 'architecture.md'))).toBe(true);
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain('](docs/architecture.md)');
  });

  it.each(['README.md', ...docs])('links only to files inside the repository: %s', (doc) => {
    const text = readFileSync(join(ROOT, doc), 'utf8');
    const targets = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((t) => !t.startsWith('#'));
    const broken = targets.filter((t) => {
      if (/^[a-z]+:/i.test(t)) return true;
      const path = resolve(ROOT, dirname(doc), t.split('#')[0]);
      return relative(ROOT, path).startsWith('..') || !existsSync(path);
    });
    expect(broken).toEqual([]);
  });
});
