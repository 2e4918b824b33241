import { type ParseArgsConfig, parseArgs } from 'node:util';
import {
  closest,
  flagOf,
  OPTIONS,
  type OptionKey,
  type RawOptions,
  readConfigFile,
  resolveConfig,
  type ServerConfig,
} from '../config/index.js';

/** A command-line mistake: printed with a pointer to the command's help, exit code 2. */
export class UsageError extends Error {}

type ParseOptions = NonNullable<ParseArgsConfig['options']>;

/** The words a boolean flag takes as its value: `--web false`, `--web=0`. */
const BOOL_WORDS = new Set(['true', 'false', '1', '0']);

/** parseArgs options for every server option (lists may repeat), plus extras. */
export function serverFlagOptions(extra: ParseOptions = {}): ParseOptions {
  const options: ParseOptions = { ...extra };
  for (const [key, spec] of Object.entries(OPTIONS)) {
    // Booleans are parsed as strings: normalizeBooleanFlags turns `--x`, `--no-x` and `--x false`
    // into `--x=true|false`, and the config layer checks the word like an env var's.
    options[flagOf(key)] = { type: 'string', multiple: spec.type === 'list' };
  }
  return options;
}

/** The flag names (no dashes) of the boolean server options. */
export function booleanServerFlags(): ReadonlySet<string> {
  return new Set(
    Object.entries(OPTIONS)
      .filter(([, spec]) => spec.type === 'bool')
      .map(([key]) => flagOf(key)),
  );
}

/**
 * Rewrites every spelling of a boolean flag to `--x=value`: `--x` is true, `--no-x` false, and
 * `--x true|false|1|0` takes the next word. Anything after `--` is left alone. Safe because a
 * strict parse never takes a word starting with `--` as another flag's value.
 */
export function normalizeBooleanFlags(argv: string[], flags: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const name = arg.startsWith('--') ? arg.slice(2) : '';
    if (flags.has(name)) {
      const next = argv[i + 1];
      if (next !== undefined && BOOL_WORDS.has(next)) {
        out.push(`--${name}=${next}`);
        i++;
      } else if (next !== undefined && !next.startsWith('-')) {
        throw new UsageError(`--${name} takes true or false (or no value), got "${next}"`);
      } else {
        out.push(`--${name}=true`);
      }
    } else if (name.startsWith('no-') && flags.has(name.slice(3))) {
      out.push(`--${name.slice(3)}=false`);
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** Parses argv strictly: an unknown flag or a missing value is a UsageError naming it. */
export function parseFlags(argv: string[], options: ParseOptions): Record<string, unknown> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError(usageMessage(err as NodeJS.ErrnoException, Object.keys(options)));
  }
}

/** parseArgs' error in our words: node's own text names the flag but tells a story about '--'. */
function usageMessage(err: NodeJS.ErrnoException, known: string[]): string {
  const quoted = /'([^']+)'/.exec(err.message)?.[1] ?? '';
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const name = quoted.replace(/^-+/, '');
    const near = closest(name, known);
    return `unknown option '${quoted}'${near ? ` (did you mean --${near}?)` : ''}`;
  }
  if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    return `unexpected argument '${quoted}' (every value follows its --flag)`;
  }
  return err.message;
}

/** Parses `barrage serve` argv: every server option plus `extra`, booleans in any spelling. */
export function parseServerFlags(
  argv: string[],
  extra: ParseOptions = {},
): Record<string, unknown> {
  return parseFlags(normalizeBooleanFlags(argv, booleanServerFlags()), serverFlagOptions(extra));
}

/** Picks the server options out of parsed flags, keyed by option name. */
export function serverOptionsFromFlags(values: Record<string, unknown>): RawOptions {
  const raw: RawOptions = {};
  for (const key of Object.keys(OPTIONS) as OptionKey[]) {
    const value = values[flagOf(key)];
    if (value === undefined) continue;
    raw[key] = Array.isArray(value) ? value.join(',') : value;
  }
  return raw;
}

/**
 * The configuration of parsed server flags: defaults < `--config` file < env < flags. Errors name
 * the file, the env var or the flag the value came from.
 */
export function configFromFlags(values: Record<string, unknown>): ServerConfig {
  const filePath = typeof values.config === 'string' ? values.config : undefined;
  return resolveConfig({
    file: filePath === undefined ? undefined : readConfigFile(filePath),
    filePath,
    env: process.env,
    flags: serverOptionsFromFlags(values),
  });
}
