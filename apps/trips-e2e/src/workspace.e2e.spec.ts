import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    expect(deps('clean-stage')).toEqual(expect.arrayContaining(['engine', 'models']));
    expect(deps('load-redshift')).toEqual(expect.arrayContaining(['warehouse']));
  });
});
