import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DockerfileParser, type Copy } from 'dockerfile-ast';
import { PIPELINE, renderArgs, topologicalOrder } from '@trips/pipeline';
import { ROOT } from './trips';

/** The task apps of the pipeline, in run order. */
export const TASK_APPS = topologicalOrder(PIPELINE.tasks).map((t) => t.app);

/** The .dockerignore rules, in order (the last matching one decides). */
function dockerignore(): Array<{ exclude: boolean; re: RegExp }> {
  return readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const exclude = !l.startsWith('!');
      const glob = l.replace(/^!/, '');
      const pattern = glob
        .split('**')
        .map((part) => part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*'))
        .join('.*');
      const re = new RegExp(`^${pattern}(/.*)?$`);
      return { exclude, re };
    });
}

/** Whether a path of the repository is in the image build context. */
export function inContext(path: string): boolean {
  let included = true;
  for (const rule of dockerignore()) if (rule.re.test(path)) included = !rule.exclude;
  return included;
}

/** Copies `src` (a file or folder of the build context) to `dest`, leaving out what .dockerignore leaves out. */
function copyFromContext(src: string, dest: string): void {
  const abs = join(ROOT, src);
  if (!existsSync(abs)) throw new Error(`COPY ${src}: no such file in the build context`);
  if (statSync(abs).isDirectory()) {
    mkdirSync(dest, { recursive: true });
    for (const name of readdirSync(abs)) {
      const rel = relative(ROOT, join(abs, name));
      if (inContext(rel)) copyFromContext(rel, join(dest, name));
    }
  } else if (inContext(src)) {
    mkdirSync(join(dest, '..'), { recursive: true });
    cpSync(abs, dest);
  }
}

/**
 * Builds an app's image layout the way docker/app.Dockerfile does, without Docker: each stage is a
 * folder standing for its WORKDIR; COPY from the build context (honouring .dockerignore) or from
 * an earlier stage, RUN in the stage's folder. Returns the final stage's folder (its /app) and the
 * entry point, with /app mapped to it.
 */
export function installLikeDockerfile(dockerfile: string, args: Record<string, string>, into: string): { dir: string; entryPoint: string[] } {
  const parsed = DockerfileParser.parse(readFileSync(join(ROOT, dockerfile), 'utf8'));
  const sub = (s: string) => s.replace(/\$\{(\w+)\}/g, (_, k: string) => args[k] ?? '');
  const stages: Record<string, string> = {};
  let stage = '';
  let workdir = '/';
  let entryPoint: string[] = [];
  const dirOf = (st: string) => join(into, st);
  let n = 0;
  for (const i of parsed.getInstructions()) {
    const kw = i.getKeyword();
    const argv = i.getArguments().map((a) => sub(a.getValue()));
    if (kw === 'FROM') {
      stage = argv[2] ?? `stage-${n++}`;
      stages[stage] = dirOf(stage);
      mkdirSync(stages[stage], { recursive: true });
    } else if (kw === 'WORKDIR') workdir = argv[0];
    else if (kw === 'COPY') {
      const from = (i as Copy).getFromFlag()?.getValue();
      const dest = argv[argv.length - 1];
      const target = dest === './' || dest === '.' ? stages[stage] : join(stages[stage], dest.replace(/^\.\//, ''));
      for (const src of argv.slice(0, -1)) {
        if (from) cpSync(join(stages[from], relative(workdir, src)), target, { recursive: true });
        else if (src.endsWith('/')) copyFromContext(src.replace(/\/$/, ''), target);
        else copyFromContext(src, join(target, target === stages[stage] ? src.split('/').pop() ?? src : ''));
      }
    } else if (kw === 'RUN') {
      const r = spawnSync('sh', ['-c', sub(i.getArgumentsContent() ?? '')], { cwd: stages[stage], encoding: 'utf8', env: { ...process.env, npm_config_loglevel: 'error' } });
      if (r.status !== 0) throw new Error(`RUN in stage ${stage} failed (${r.status}):\n${r.stderr.slice(-2000)}`);
    } else if (kw === 'ENTRYPOINT') entryPoint = (JSON.parse(i.getArgumentsContent() ?? '[]') as string[]).map((a) => a.replace(workdir, stages[stage]));
  }
  return { dir: stages[stage], entryPoint };
}

/**
 * Runs every task of the pipeline for `ds`, as one run, each app from its own folder (`dirs[app]`)
 * with `env`; stops at the first failure. Asynchronous: stand-ins living in this process keep serving.
 */
export async function runChain(dirs: Record<string, { dir: string; entryPoint: string[] }>, env: Record<string, string>, ds: string, runId: string): Promise<Array<{ task: string; status: number | null; stderr: string }>> {
  const out: Array<{ task: string; status: number | null; stderr: string }> = [];
  for (const task of topologicalOrder(PIPELINE.tasks)) {
    const { dir, entryPoint } = dirs[task.app];
    const [cmd, ...rest] = entryPoint;
    const child = spawn(cmd, [...rest, ...renderArgs(task, ds, runId)], { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-20_000)));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    out.push({ task: task.id, status, stderr });
    if (status !== 0) break;
  }
  return out;
}
