import { ContractError, recordTask, s3Url, type FileAccount, type Logger, type OutputInfo, type Progress, type RowCounts, type TaskManifest } from '@trips/core';
import type { DatasetRef, QueryEngine } from '@trips/engine';
import { checkContract, contractOf, modelTables, renderModel, type ModelTable, type Vars } from '@trips/models';
import { columnNames, manifestKey, partition, rowsLocation, table, type Buckets, type Layer, type TableDef } from '@trips/pipeline';
import type { ObjectStore } from '@trips/storage';

export interface BuildDeps {
  store: ObjectStore;
  buckets: Buckets;
  /** Opens the query engine; the build closes it when done. */
  openEngine: () => QueryEngine;
  /** The models' variables (the grid settings); every model of a layer gets the same. */
  vars?: Vars;
  /** The task id (its manifest folder) and the run it belongs to. */
  task: string;
  runId?: string;
  logger?: Logger;
  progress?: Progress;
}

/** A table's partition of the ds as a model input: where its rows are, and how to read them. */
export function dataset(buckets: Buckets, t: TableDef, ds: string): DatasetRef {
  return { name: t.id, location: rowsLocation(buckets, t, ds), format: t.format, columns: t.format === 'csv' ? columnNames(t) : undefined, partition: { ds } };
}

/**
 * Materialises one model for a ds: runs its SQL over its inputs' partitions, replaces its own
 * partition with the result, and checks its contract (columns, key, tests, relationships to the
 * tables written for the same ds). Returns where it wrote and how many rows.
 */
export async function materialize(engine: QueryEngine, model: ModelTable, ds: string, deps: Pick<BuildDeps, 'buckets' | 'vars'>): Promise<OutputInfo> {
  const target = partition(deps.buckets, model, ds);
  const inputs = model.model.inputs.map((id) => dataset(deps.buckets, table(id), ds));
  const written = await engine.writeParquet({ sql: renderModel(model, engine.dialect, deps.vars ?? {}), inputs, target, table: model.id });
  const related = Object.fromEntries((model.tests?.relationships ?? []).map((r) => [r.to, partition(deps.buckets, r.to, ds)]));
  await checkContract(engine, contractOf(model), target, { related });
  return { location: s3Url(target), rows: written.rows };
}

/**
 * Builds every model of a layer for a ds, in catalog order, and records the task's manifest with
 * the row accounting the models' kind calls for (ModelSpec.accounting). clean-stage, build-dimensions
 * and build-facts are this with their layer.
 */
export async function buildLayer(deps: BuildDeps, layer: Layer, ds: string): Promise<TaskManifest> {
  const models = modelTables().filter((t) => t.layer === layer);
  if (models.length === 0) throw new Error(`no model of layer ${layer} in the catalog`);
  const kinds = new Set(models.map((m) => m.model.accounting));
  if (kinds.size !== 1) throw new Error(`the models of layer ${layer} mix accounting kinds (${[...kinds].join(', ')})`);
  return recordTask({ task: deps.task, ds, runId: deps.runId, logger: deps.logger, save: (m) => deps.store.putJson(deps.buckets.lake, manifestKey(deps.task, ds), m) }, async () => {
    const engine = deps.openEngine();
    try {
      const outputs: OutputInfo[] = [];
      for (const [i, m] of models.entries()) {
        const stage = deps.progress?.stage(`building ${m.id} (model ${i + 1} of ${models.length})`);
        const output = await materialize(engine, m, ds, deps);
        stage?.advance({ rows: output.rows });
        stage?.done();
        outputs.push(output);
      }
      const stage = deps.progress?.stage('counting the rows for the manifest');
      const input = table(models.find((m) => m.model.inputs.length > 0)?.model.inputs[0] ?? '');
      const account = ACCOUNTING[models[0].model.accounting];
      const files = await account(engine, dataset(deps.buckets, input, ds), models, outputs, ds, deps);
      stage?.done();
      const sum = (k: keyof RowCounts) => files.reduce((s, f) => s + f.rows[k], 0);
      return { rows: { read: sum('read'), passed: sum('passed'), rejected: 0, duplicates: sum('duplicates') }, files, outputs };
    } finally {
      await engine.close();
    }
  });
}

type Accountant = (engine: QueryEngine, input: DatasetRef, models: ModelTable[], outputs: OutputInfo[], ds: string, deps: BuildDeps) => Promise<FileAccount[]>;

const count = async (engine: QueryEngine, input: DatasetRef) => (await engine.query<{ n: number }>({ sql: `select count(*) as n from ${input.name}`, inputs: [input] }))[0].n;
const whole = (input: DatasetRef, read: number, passed: number): FileAccount => ({ file: s3Url(input.location), status: 'ok', rows: { read, passed, rejected: 0, duplicates: read - passed }, rejectedByReason: {} });

const ACCOUNTING: Record<ModelTable['model']['accounting'], Accountant> = {
  /** Per source file: its rows in the input are read, its rows kept in the output passed, the rest duplicates. */
  async 'dedup-per-source-file'(engine, input, [model], [output], ds, deps) {
    const out = dataset(deps.buckets, model, ds);
    const perFile = (ref: DatasetRef) => engine.query<{ source_file: string; n: number }>({ sql: `select source_file, count(*) as n from ${ref.name} group by source_file`, inputs: [ref] });
    const kept = new Map((await perFile(out)).map((r) => [r.source_file, r.n]));
    const files: FileAccount[] = (await perFile(input))
      .sort((a, b) => (a.source_file < b.source_file ? -1 : 1))
      .map((r) => {
        const passed = kept.get(r.source_file) ?? 0;
        return { file: r.source_file, status: 'ok', rows: { read: r.n, passed, rejected: 0, duplicates: r.n - passed }, rejectedByReason: {} };
      });
    const passed = files.reduce((s, f) => s + f.rows.passed, 0);
    if (passed !== output.rows) throw new ContractError(`${model.id}: rows per source file sum to ${passed}, but ${output.rows} rows were written to ${output.location}`);
    return files;
  },
  /** One output row per input row, checked. */
  async 'one-per-input-row'(engine, input, [model], [output], ds) {
    const n = await count(engine, input);
    if (output.rows !== n) throw new ContractError(`${model.id} has ${output.rows} rows for ds=${ds}, but ${input.name} has ${n}; one row per ${input.name} row`);
    return [whole(input, n, output.rows)];
  },
  /** The input rows are read and passed; the outputs are the members they use. */
  async members(engine, input) {
    const n = await count(engine, input);
    return [whole(input, n, n)];
  },
};
