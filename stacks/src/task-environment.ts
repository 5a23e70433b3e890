import type { z } from 'zod';
import { appSettings } from '@trips/runtime';

/** True when the setting must be given: it has neither a default nor is optional. */
export function requiredSetting(schema: z.ZodType): boolean {
  return !schema.safeParse(undefined).success;
}

/**
 * A container's environment: of the values the stack knows, exactly the settings the app parses
 * (libs/runtime/src/settings.ts), in name order. A required setting the stack cannot give is an
 * error at synth, not a task failing at start-up.
 */
export function taskEnvironment(app: string, known: Record<string, string>): Array<{ name: string; value: string }> {
  const shape = appSettings(app);
  const missing = Object.keys(shape).filter((k) => requiredSetting(shape[k] as z.ZodType) && !(k in known));
  if (missing.length > 0) throw new Error(`the stack gives ${app} no value for its required settings ${missing.join(', ')}`);
  return Object.keys(shape)
    .filter((k) => k in known)
    .sort()
    .map((k) => ({ name: k, value: known[k] }));
}
