import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PIPELINE, type PipelineDefinition } from '@trips/pipeline';
import { generatedFiles } from './generate';
import { py } from './python';

const root = join(__dirname, '..', '..', '..');

describe('DAG generator', () => {
  it('wrote the committed DAG files: they equal what it generates now', () => {
    for (const [path, content] of Object.entries(generatedFiles(PIPELINE))) {
      // On failure: run `npx nx run dag-generator:generate` and commit the result.
      expect({ path, content: readFileSync(join(root, path), 'utf8') }).toEqual({ path, content });
    }
  });

  it('adds a task added to the definition to both DAGs, in order, with its settings', () => {
    const withAudit: PipelineDefinition = {
      ...PIPELINE,
      tasks: [
        ...PIPELINE.tasks,
        { ...PIPELINE.tasks[0], id: 'audit_day', app: 'audit-day', description: 'Audit the day.', dependsOn: ['load_redshift'], retries: 4, timeoutMinutes: 15 },
      ],
    };
    const files = generatedFiles(withAudit);
    const mwaa = files['dags/trips_pipeline.py'];
    const local = files['dags/trips_pipeline_local.py'];
    expect(mwaa).toContain('    audit_day = EcsRunTaskOperator(\n        task_id="audit_day",');
    expect(mwaa).toContain('task_definition="trips-audit-day"');
    expect(mwaa).toContain('overrides={"containerOverrides": [{"name": "audit-day", "command": ["--ds", DS, "--run-id", RUN_ID]}]}');
    expect(local).toContain('    audit_day = BashOperator(\n        task_id="audit_day",');
    expect(local).toContain('bash_command=\'exec node "$TRIPS_HOME/dist/apps/audit-day/main.js" --ds \' + DS + " --run-id " + RUN_ID,');
    expect(local).toContain('chain(ingest_sftp, validate_raw, clean_stage, build_dimensions, build_facts, load_redshift, audit_day, release_lock.as_teardown())');
    // The MWAA DAG lands files itself only without a raw-events queue (the watcher lands them otherwise).
    expect(mwaa).toContain('chain(validate_raw, clean_stage, build_dimensions, build_facts, load_redshift, audit_day, release_lock.as_teardown())\n    if not RAW_EVENTS_QUEUE_URL:\n        chain(ingest_sftp, validate_raw)');
    for (const file of [mwaa, local]) {
      const block = file.slice(file.indexOf('    audit_day = '));
      expect(block).toContain('retries=4,');
      expect(block).toContain('execution_timeout=timedelta(minutes=15),');
    }
    expect(JSON.parse(files['dags/trips_pipeline.definition.json']).tasks.at(-1).id).toBe('audit_day');
  });

  it('states a branching order edge by edge', () => {
    const t = PIPELINE.tasks[0];
    const branching: PipelineDefinition = {
      ...PIPELINE,
      ingestTask: 'a',
      tasks: [
        { ...t, id: 'a', dependsOn: [] },
        { ...t, id: 'b', dependsOn: ['a'] },
        { ...t, id: 'c', dependsOn: ['a'] },
        { ...t, id: 'd', dependsOn: ['b', 'c'] },
      ],
    };
    const local = generatedFiles(branching)['dags/trips_pipeline_local.py'];
    expect(local).toContain('    chain(a, b)\n    chain(a, c)\n    chain([b, c], d)\n');
  });

  it('passes arguments with the date inside them and shell-quotes literal text', () => {
    const odd: PipelineDefinition = { ...PIPELINE, tasks: [{ ...PIPELINE.tasks[0], args: ['--ds', '{{ ds }}', '--note', "it's day-{{ds}}"] }] };
    const files = generatedFiles(odd);
    // The shell joins 'it'"'"'s day-' and the date into one word: it's day-2018-05-28.
    expect(files['dags/trips_pipeline_local.py']).toContain(`bash_command='exec node "$TRIPS_HOME/dist/apps/ingest-sftp/main.js" --ds ' + DS + " --note 'it'\\"'\\"'s day-'" + DS,`);
    expect(files['dags/trips_pipeline.py']).toContain('"command": ["--ds", DS, "--note", "it\'s day-" + DS]');
  });

  it('refuses an invalid definition before writing anything', () => {
    const cyclic: PipelineDefinition = { ...PIPELINE, tasks: [{ ...PIPELINE.tasks[0], id: 'a', dependsOn: ['a'] }] };
    expect(() => generatedFiles(cyclic)).toThrow('cycle through task a');
  });
});

describe('Python literals', () => {
  it('writes strings, numbers, booleans, None, lists and dicts', () => {
    expect(py({ a: [1, true, null, 'x"y'], b: "it's" })).toBe(`{"a": [1, True, None, 'x"y'], "b": "it's"}`);
    expect(py('line\nbreak "quoted"')).toBe('"line\\nbreak \\"quoted\\""');
    expect(() => py(Number.NaN)).toThrow('cannot write NaN');
  });
});
