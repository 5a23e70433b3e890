import { helpOf, parseCommand, type CommandSpec, type OptionSpec } from '@trips/core';

export type Flags = Record<string, OptionSpec>;
export type { CommandSpec };

export interface ParsedArgs {
  values: Record<string, string | string[] | boolean | undefined>;
  positionals: string[];
}

export interface TripsCommand {
  help: string;
  run(argv: string[]): Promise<number>;
}

/**
 * A `trips` sub-command: prints its help or the version when asked for (exit 0); otherwise parses
 * its arguments (commander, through @trips/core: the help style every command shares; unknown or
 * malformed ones become a UsageError naming them) and runs it.
 */
export function defineCommand(spec: CommandSpec, run: (args: ParsedArgs, help: string) => Promise<number>): TripsCommand {
  const help = helpOf(spec);
  return {
    help,
    async run(argv) {
      const parsed = parseCommand(spec, argv);
      if (parsed.kind === 'print') {
        process.stdout.write(parsed.text);
        return 0;
      }
      return run({ values: parsed.values, positionals: parsed.positionals }, help);
    },
  };
}
