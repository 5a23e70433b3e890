// `nx test dags`: sets up the DAG test environment (dags/venv.mjs), then runs the pytest suite.
// Without Python 3.10+ it says so and skips; the dag-generator spec still checks that the committed
// DAG files are what the generator writes.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { dagsDir, ensureAirflowVenv } from '../venv.mjs';

const bin = ensureAirflowVenv();
if (!bin) {
  console.log('dags: SKIPPED the Airflow tests: no Python 3.10+ on PATH (set PYTHON=/path/to/python3 to choose one)');
  process.exit(0);
}
const result = spawnSync(join(bin, 'python'), ['-m', 'pytest', join(dagsDir, 'tests'), '-q', '-p', 'no:cacheprovider', ...process.argv.slice(2)], { stdio: 'inherit', cwd: dagsDir });
process.exit(result.status ?? 1);
