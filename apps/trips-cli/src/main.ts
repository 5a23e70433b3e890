import { describeError, exitCodeOf, guardUnfinished, VERSION } from '@trips/core';
import type { TripsCommand } from './args';
import { awsCommand } from './aws-command';
import { generateCommand } from './generate';
import { localCommand } from './local-command';
import { queryCommand } from './query-command';
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

Every command takes --help; trips --version prints the version.`;

const COMMANDS: Record<string, TripsCommand> = {
  run: runCommand,
  generate: generateCommand,
  sql: sqlCommand,
  query: queryCommand,
  local: localCommand,
  aws: awsCommand,
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
