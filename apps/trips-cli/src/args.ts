import { helpOf, parseCommand, type CommandSpec, type OptionSpec } from '@trips/core';

export type Flags = Record<string, OptionSpec>;
export type { CommandSpec };

/**
 * Parses a sub-command's arguments (commander, through @trips/core: the help style every command
 * shares); unknown or malformed ones become a UsageError naming them. `print` is the help or
 * version text when asked for.
 */
export function parseFlags(spec: CommandSpec, argv: string[]): { print?: string; values: Record<string, string | string[] | boolean | undefined>; positionals: string[] } {
  const parsed = parseCommand(spec, argv);
  if (parsed.kind === 'print') return { print: parsed.text, values: {}, positionals: [] };
  return { values: parsed.values, positionals: parsed.positionals };
}

export const helpText = helpOf;
