import { type ParseArgsConfig, parseArgs } from 'node:util';
import { flagOf, OPTIONS, type OptionKey, type RawOptions } from '../config/index.js';

/** A command-line mistake: printed with the usage hint, exit code 2. */
export class UsageError extends Error {}

type ParseOptions = NonNullable<ParseArgsConfig['options']>;

/** parseArgs options for every server option (lists may repeat), plus extras. */
export function serverFlagOptions(extra: ParseOptions = {}): ParseOptions {
  const options: ParseOptions = { ...extra };
  for (const [key, spec] of Object.entries(OPTIONS)) {
    options[flagOf(key)] =
      spec.type === 'bool'
        ? { type: 'boolean' }
        : { type: 'string', multiple: spec.type === 'list' };
  }
  return options;
}

/** Parses argv strictly: an unknown flag or a missing value is a UsageError naming it. */
export function parseFlags(argv: string[], options: ParseOptions): Record<string, unknown> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Picks the server options out of parsed flags, keyed by option name. */
export function serverOptionsFromFlags(values: Record<string, unknown>): RawOptions {
  const raw: RawOptions = {};
  for (const key of Object.keys(OPTIONS) as OptionKey[]) {
    const value = values[`no-${flagOf(key)}`] === true ? false : values[flagOf(key)];
    if (value === undefined) continue;
    raw[key] = Array.isArray(value) ? value.join(',') : value;
  }
  return raw;
}
