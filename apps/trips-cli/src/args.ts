import { parseArgs } from 'node:util';
import { UsageError } from '@trips/core';

export type Flags = Record<string, { type: 'string' | 'boolean'; description: string }>;

/** Parses a sub-command's arguments; unknown or malformed ones become a UsageError naming them. */
export function parseFlags(command: string, flags: Flags, argv: string[], positionals = false): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const parsed = parseArgs({
      args: argv,
      options: { ...Object.fromEntries(Object.entries(flags).map(([k, f]) => [k, { type: f.type }])), help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: positionals,
    });
    return { values: parsed.values as Record<string, string | boolean | undefined>, positionals: parsed.positionals };
  } catch (e) {
    throw new UsageError(`trips ${command}: ${(e as Error).message}`);
  }
}

export function helpText(usageLine: string, description: string, flags: Flags): string {
  const rows = Object.entries(flags).map(([k, f]) => [f.type === 'string' ? `--${k} ${k.toUpperCase().replace(/-/g, '_')}` : `--${k}`, f.description]);
  const w = Math.max(...rows.map((r) => r[0].length), 6);
  return [`Usage: ${usageLine}`, '', description, '', 'Options:', ...rows.map(([k, d]) => `  ${k.padEnd(w)}  ${d}`), `  ${'--help'.padEnd(w)}  show this help`].join('\n');
}
