import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ROOT } from './trips';

// `nx affected` builds only what a change touches, because dependencies are real imports: on a
// scratch branch of a temporary clone, a change to one file of a lib makes `nx affected -t test`
// run exactly that lib's tests and its dependents', nothing else.
describe('nx affected in a temporary clone', () => {
  const clone = mkdtempSync(join(tmpdir(), 'trips-affected-'));
  const run = (cmd: string, args: string[]) =>
    execFileSync(cmd, args, { cwd: clone, encoding: 'utf8', env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
  // nx of the clone (its node_modules is the workspace's, linked).
  const nx = (args: string[]) => run(process.execPath, [join(clone, relative(ROOT, require.resolve('nx/bin/nx'))), ...args]);
  let base: string;

  beforeAll(() => {
    execFileSync('git', ['clone', '--quiet', ROOT, clone]);
    symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'), 'dir');
    base = run('git', ['rev-parse', 'HEAD']).trim();
    run('git', ['checkout', '--quiet', '-b', 'scratch']);
    appendFileSync(join(clone, 'libs/storage/src/partition.ts'), '\n// a change on a scratch branch\n');
    run('git', ['commit', '--quiet', '-am', 'change one file of libs/storage']);
  }, 120_000);
  afterAll(() => rmSync(clone, { recursive: true, force: true }));

  it('runs the changed lib\'s tests and its dependents\', and no other project\'s', () => {
    nx(['graph', `--file=${join(clone, 'graph.json')}`]);
    const { graph } = JSON.parse(readFileSync(join(clone, 'graph.json'), 'utf8')) as { graph: { nodes: Record<string, { data: { targets?: Record<string, unknown> } }>; dependencies: Record<string, Array<{ target: string }>> } };
    // storage and everything that depends on it, directly or not.
    const dependents = new Set(['storage']);
    for (let grew = true; grew; ) {
      grew = false;
      for (const [p, deps] of Object.entries(graph.dependencies)) {
        if (!dependents.has(p) && deps.some((d) => dependents.has(d.target))) {
          dependents.add(p);
          grew = true;
        }
      }
    }
    const withTests = [...dependents].filter((p) => graph.nodes[p]?.data.targets?.test).sort();
    const affected = (JSON.parse(nx(['show', 'projects', '--affected', `--base=${base}`, '--head=HEAD', '--withTarget=test', '--json'])) as string[]).sort();
    expect(affected).toEqual(withTests);
    expect(affected).toContain('storage');
    expect(affected).toContain('engine');
    // What storage does not reach stays out.
    for (const untouched of ['core', 'pipeline', 'dag-generator']) expect(affected).not.toContain(untouched);
  }, 180_000);
});
