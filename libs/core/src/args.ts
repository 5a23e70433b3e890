import { Command, CommanderError, Option } from 'commander';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the workspace's one version, inlined into each app's bundle by esbuild
import { version } from '../../../package.json';
import { UsageError } from './errors';

/** One option of a command line: `--name VALUE` (string) or `--name` (boolean). */
export interface OptionSpec {
  type: 'string' | 'boolean';
  description: string;
  default?: string | boolean;
  /** The value's name in the help (`--ds <YYYY-MM-DD>`); VALUE by default. */
  value?: string;
  /** May be given several times (`--param a --param b`): the values in order. */
  repeatable?: boolean;
}

export interface CommandSpec {
  /** How the command is called, e.g. `validate-raw` or `trips run`. */
  name: string;
  description: string;
  options: Record<string, OptionSpec>;
  /** Positional arguments, as the help shows them (e.g. `[statement]`); none when absent. */
  positionals?: string;
}

export type ParsedCommand =
  | { kind: 'values'; values: Record<string, string | string[] | boolean | undefined>; positionals: string[] }
  /** `--help` or `--version`: the text to print, and nothing else to do. */
  | { kind: 'print'; text: string };

/** The version of the trips pipeline (package.json), what every command's `--version` prints. */
export const VERSION = version;

function build(spec: CommandSpec, out: { text: string }): Command {
  const cmd = new Command(spec.name)
    .description(spec.description)
    .helpOption('-h, --help', 'show this help')
    .version(VERSION, '--version', 'print the version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => (out.text += s), writeErr: (s) => (out.text += s), outputError: () => undefined })
    // Wide enough for the descriptions' own line breaks (lists of sub-commands) to stand.
    .configureHelp({ helpWidth: 120 })
    .allowExcessArguments(spec.positionals !== undefined);
  if (spec.positionals) cmd.arguments(spec.positionals);
  for (const [name, o] of Object.entries(spec.options)) {
    const flag = o.type === 'string' ? `--${name} <${o.value ?? 'VALUE'}>` : `--${name}`;
    const option = new Option(flag, o.description);
    if (o.default !== undefined) option.default(o.default);
    if (o.repeatable) option.argParser((v: string, previous: string[] | undefined) => [...(previous ?? []), v]);
    cmd.addOption(option);
  }
  return cmd;
}

/**
 * Parses `argv` against the spec with commander: one help style for every command, `--version`,
 * and bad arguments as a UsageError (exit 64) naming the command once (`trips run: unknown option
 * '--frobnicate'`).
 */
export function parseCommand(spec: CommandSpec, argv: string[]): ParsedCommand {
  const out = { text: '' };
  const cmd = build(spec, out);
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError && (e.code === 'commander.helpDisplayed' || e.code === 'commander.version')) return { kind: 'print', text: out.text };
    throw new UsageError(`${spec.name}: ${(e as Error).message.replace(/^error: /, '')}`);
  }
  const opts = cmd.opts();
  const values = Object.fromEntries(cmd.options.filter((o) => o.long !== '--version').map((o) => [o.long?.slice(2) as string, opts[o.attributeName()]]));
  return { kind: 'values', values, positionals: cmd.args };
}

/** The command's help text, as `--help` prints it. */
export function helpOf(spec: CommandSpec): string {
  return build(spec, { text: '' }).helpInformation();
}
