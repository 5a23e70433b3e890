import { describeError, exitCodeOf, guardUnfinished, VERSION } from '@trips/core';
import type { TripsCommand } from './args';
import { awsCommand } from './aws-command';
import { generateCommand } from './generate';
import { manifestsCommand, psqlCommand, rejectsCommand, resetCommand, s3Command, statusCommand } from './inspect-commands';
import { localCommand } from './local-command';
import { queryCommand } from './query-command';
import { reportCommand } from './report-command';
import { runCommand } from './run-command';
import { sqlCommand } from './sql-command';

const HELP = `Usage: trips <command> [options]

Commands:
  run       run the pipeline on the embedded local stack (trips run --help)
  generate  write synthetic trips in the input format (trips generate --help)
  sql       run SQL on the local warehouse (trips sql --help)
  query     answer the analysts' questions: weekly averages, trip groups, datasources (trips query --help)
  local     the standing local stack for a local Airflow: up, down, env, land (trips local --help)
  aws       steps on a real AWS account: bootstrap the warehouse (trips aws --help)

Inspect the local state (each works whether or not a stand-in runs):
  status     what runs, what is kept, each day's last run
  manifests  each task's outcome for a day (--ds D), or one task's whole manifest (--task T)
  rejects    the rows validation rejected (--ds D): per reason, or the rows with file and line
  s3         ls, cat or cp the local lake's objects (the s3://… a run printed)
  report     an HTML report: weekly averages, trip groups on a grid, rejects per day, task times
  psql       psql on the local warehouse
  reset      stop the stand-ins and delete the state folder (--yes)

Every command takes --help; trips --version prints the version.`;

const COMMANDS: Record<string, TripsCommand> = {
  run: runCommand,
  generate: generateCommand,
  sql: sqlCommand,
  query: queryCommand,
  local: localCommand,
  aws: awsCommand,
  status: statusCommand,
  manifests: manifestsCommand,
  rejects: rejectsCommand,
  s3: s3Command,
  psql: psqlCommand,
  reset: resetCommand,
  report: reportCommand,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${HELP}\n`);
    return command === undefined ? 64 : 0;
  }
  const handler = COMMANDS[command];
  if (!handler) {
    process.stderr.write(`trips: unknown command "${command}"\n\n${HELP}\n`);
    return 64;
  }
  const done = guardUnfinished(`trips ${command}`);
  try {
    return await handler.run(rest);
  } catch (e) {
    // One prefix naming the command: messages that name it already are printed as they are.
    const message = describeError(e);
    process.stderr.write(`${message.startsWith(`trips ${command}`) ? message : `trips ${command}: ${message}`}\n`);
    return exitCodeOf(e);
  } finally {
    done();
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
