/** Python source helpers for the generated DAG files. */

/** A Python literal for a JSON-like value. JSON string escapes are valid Python escapes. */
export function py(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} as a Python literal`);
    return String(value);
  }
  if (typeof value === 'string') {
    // Single quotes where that avoids escaping double quotes (Jinja templates read better).
    if (value.includes('"') && !/['\\\n\r]/.test(value) && /^[\x20-\x7e]*$/.test(value)) return `'${value}'`;
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(py).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${JSON.stringify(k)}: ${v === undefined ? 'None' : py(v)}`)
      .join(', ')}}`;
  }
  throw new Error(`cannot write a ${typeof value} as a Python literal`);
}

/** A module docstring; refuses text that would end it early. */
export function docstring(text: string): string {
  if (text.includes('"""') || text.includes('\\')) throw new Error('docstring text may not contain """ or backslashes');
  return `"""\n${text.trim()}\n"""`;
}

/** A Python identifier for a task id (ids are already snake_case; this guards keywords). */
export function pyName(id: string): string {
  const KEYWORDS = new Set(['and', 'as', 'assert', 'async', 'await', 'break', 'class', 'continue', 'def', 'del', 'elif', 'else', 'except', 'finally', 'for', 'from', 'global', 'if', 'import', 'in', 'is', 'lambda', 'nonlocal', 'not', 'or', 'pass', 'raise', 'return', 'try', 'while', 'with', 'yield']);
  return KEYWORDS.has(id) ? `${id}_task` : id;
}

/** Keyword arguments, one per line, at `indent` spaces. */
export function kwargs(args: Array<[string, string]>, indent: number): string {
  const pad = ' '.repeat(indent);
  return args.map(([k, v]) => `${pad}${k}=${v},`).join('\n');
}
