import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { BarrageError } from '../errors.js';
import {
  envOf,
  flagOf,
  OPTIONS,
  type OptionKey,
  type OptionSpec,
  type ServerConfig,
} from './schema.js';
import { closest } from './suggest.js';

/** Raw values from one source, by option key. Strings from env and flags; typed from a file. */
export type RawOptions = Partial<Record<OptionKey, unknown>>;

/** The layers a configuration is made of, lowest precedence first after the defaults. */
export interface ConfigLayers {
  /** A parsed JSON config file. */
  file?: Record<string, unknown>;
  /** The config file's path, named in every error about its keys. */
  filePath?: string;
  /** The environment (only `BARRAGE_*` variables are read). */
  env?: NodeJS.ProcessEnv;
  /** Parsed command-line flags by option key. */
  flags?: RawOptions;
  /** Typed values from a library caller (highest precedence). */
  overrides?: RawOptions;
}

const KEYS = Object.keys(OPTIONS) as OptionKey[];

/**
 * Merges defaults < file < env < flags < overrides, validates every value and the rules between
 * them, and freezes the result. Throws BarrageError BARRAGE_ERR_CONFIG naming the bad input.
 */
export function resolveConfig(layers: ConfigLayers = {}): ServerConfig {
  const values: Record<string, unknown> = {};
  // Where each value came from, as the user wrote it: errors name that, not the option key.
  const sources: Partial<Record<OptionKey, string>> = {};
  const set = (key: OptionKey, raw: unknown, source: string) => {
    values[key] = coerce(key, raw, source);
    sources[key] = source;
  };
  for (const key of KEYS) values[key] = OPTIONS[key].default;
  if (layers.file) {
    const file = layers.filePath ? `config file ${layers.filePath}` : 'config file';
    for (const [key, raw] of Object.entries(layers.file)) {
      if (!isOptionKey(key)) throw configError(`${file}: ${unknownOption(key)}`);
      set(key, raw, `${file}: "${key}"`);
    }
  }
  if (layers.env) {
    for (const key of KEYS) {
      const raw = layers.env[envOf(key)];
      if (raw !== undefined && raw !== '') set(key, raw, envOf(key));
    }
  }
  for (const [layer, label] of [
    [layers.flags, (k: string) => `--${flagOf(k)}`],
    [layers.overrides, (k: string) => `option ${k}`],
  ] as const) {
    if (!layer) continue;
    for (const [key, raw] of Object.entries(layer)) {
      if (raw === undefined) continue;
      if (!isOptionKey(key)) throw configError(unknownOption(key));
      set(key, raw, label(key));
    }
  }
  const config = values as ServerConfig;
  checkRelations(config, (key) => sources[key] ?? key);
  return Object.freeze(config);
}

function isOptionKey(key: string): key is OptionKey {
  return Object.hasOwn(OPTIONS, key);
}

/** `unknown option "prot" (did you mean "port"?)`. */
function unknownOption(key: string): string {
  const near = closest(key, KEYS);
  return `unknown option "${key}"${near ? ` (did you mean "${near}"?)` : ''}`;
}

/** Reads and parses a JSON config file, naming the file on failure. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw configError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw configError(`config file ${path} is not valid JSON: ${jsonProblem(text, err as Error)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
    throw configError(`config file ${path} must hold a JSON object of options, got ${got}`);
  }
  return value as Record<string, unknown>;
}

/** JSON.parse's complaint on one line, with the line and column when it names a position. */
function jsonProblem(text: string, err: Error): string {
  // V8 quotes a snippet of the text, newlines and all, and ends with "is not valid JSON".
  const problem = err.message
    .replace(/\s+/g, ' ')
    .replace(/ is not valid JSON$/, '')
    .slice(0, 160);
  const match = /at position (\d+)/.exec(err.message);
  if (!match) return problem;
  const before = text.slice(0, Number(match[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return `${problem} (line ${line}, column ${column})`;
}

/** Converts one raw value to the option's type, or throws naming the source. */
export function coerce(key: OptionKey, raw: unknown, source: string): unknown {
  const spec: OptionSpec = OPTIONS[key];
  const bad = (expected: string) =>
    configError(`${source}: expected ${expected}, got ${JSON.stringify(raw)}`);
  switch (spec.type) {
    case 'string':
      if (typeof raw !== 'string') throw bad('a string');
      return raw;
    case 'enum':
      if (typeof raw !== 'string' || !spec.values?.includes(raw))
        throw bad(`one of ${spec.values?.join(', ')}`);
      return raw;
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw bad('true or false');
    case 'list': {
      const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : null;
      if (!items?.every((i) => typeof i === 'string')) throw bad('a comma-separated list');
      return Object.freeze(items.map((i: string) => i.trim()).filter((i: string) => i !== ''));
    }
    case 'int':
    case 'number': {
      const n =
        typeof raw === 'number'
          ? raw
          : typeof raw === 'string' && raw.trim() !== ''
            ? Number(raw)
            : Number.NaN;
      const range = `from ${spec.min} to ${spec.max}`;
      if (!Number.isFinite(n) || (spec.type === 'int' && !Number.isInteger(n))) {
        throw bad(`${spec.type === 'int' ? 'an integer' : 'a number'} ${range}`);
      }
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        throw bad(`a value ${range}`);
      }
      return n;
    }
  }
}

/** Checks the values no single option's type can: `name` says where an option was set. */
function checkRelations(config: ServerConfig, name: (key: OptionKey) => string): void {
  if (config.sendSoftLimitBytes >= config.sendHardLimitBytes) {
    throw configError(
      `${name('sendSoftLimitBytes')} (${config.sendSoftLimitBytes}) must be below ${name('sendHardLimitBytes')} (${config.sendHardLimitBytes})`,
    );
  }
  for (const origin of config.origins) {
    if (origin === '*') continue;
    try {
      new URL(origin);
    } catch {
      throw configError(
        `${name('origins')}: "${origin}" is not an origin like https://site.example`,
      );
    }
  }
  parseRoomPolicies(config.roomPolicies, name('roomPolicies'));
  if (config.redisUrl) checkRedisUrl(config.redisUrl, name('redisUrl'));
  const redisModes = (['redisUrl', 'redisCluster', 'redisSentinels'] as const)
    .filter((key) => config[key].length > 0)
    .map(name);
  if (redisModes.length > 1) {
    throw configError(
      `set one of ${name('redisUrl')}, ${name('redisCluster')} and ${name('redisSentinels')}, not ${redisModes.join(' and ')}`,
    );
  }
  if (config.redisSentinels.length > 0 && !config.redisMasterName) {
    throw configError(
      `${name('redisSentinels')} needs ${name('redisMasterName')}: the name the Sentinels monitor`,
    );
  }
  if (config.redisMasterName && config.redisSentinels.length === 0) {
    throw configError(`${name('redisMasterName')} is only used with ${name('redisSentinels')}`);
  }
  for (const key of ['redisCluster', 'redisSentinels'] as const) {
    for (const address of config[key]) {
      if (!/^[^:\s]+:\d{1,5}$/.test(address)) {
        throw configError(`${name(key)}: "${address}" is not host:port`);
      }
    }
  }
  checkStore(config);
  const workers = workerCount(config.workers, name('workers'));
  if (workers > 1 && redisModes.length === 0) {
    throw configError(
      `${name('workers')}: ${workers} processes need a broker between them; add --redis-url (or --redis-cluster), or run --workers 1 on the embedded broker`,
    );
  }
}

/** A Redis URL must say redis:// or rediss://, and its path (if any) a database number. */
function checkRedisUrl(value: string, option: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw configError(`${option}: this is not a URL like redis://127.0.0.1:6379/0`);
  }
  const shown = `${url.protocol}//${url.host}${url.pathname}`; // without user and password
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw configError(`${option}: ${shown} must start with redis:// or rediss://`);
  }
  if (!url.hostname) throw configError(`${option}: ${shown} names no host`);
  const db = url.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d{1,5}$/.test(db)) {
    throw configError(`${option}: ${shown}: the path must be a database number, like /0`);
  }
}

/** The store a configuration asks for, `auto` resolved (see the `store` option). */
export function storeKind(config: ServerConfig): 'embedded' | 'postgres' | 'none' {
  if (config.store !== 'auto') return config.store as 'embedded' | 'postgres' | 'none';
  if (config.databaseUrl) return 'postgres';
  const clustered =
    Boolean(config.redisUrl) || config.redisCluster.length > 0 || config.redisSentinels.length > 0;
  return clustered || workerCount(config.workers) > 1 ? 'none' : 'embedded';
}

function checkStore(config: ServerConfig): void {
  if (config.store === 'postgres' && !config.databaseUrl) {
    throw configError('store: postgres needs --database-url (BARRAGE_DATABASE_URL)');
  }
  if (config.databaseUrl && !/^postgres(ql)?:\/\//.test(config.databaseUrl)) {
    throw configError('databaseUrl: expected a postgres:// or postgresql:// URL');
  }
  if (config.store === 'embedded' && workerCount(config.workers) > 1) {
    throw configError(
      'store: embedded holds one process per data directory; with several workers use --store postgres',
    );
  }
  for (const key of ['timelineRooms', 'storedRooms'] as const) {
    for (const pattern of config[key]) {
      if (pattern.trim() === '') throw configError(`${key}: an empty room pattern`);
    }
  }
}

/** The number of worker processes `workers` asks for (`auto`: one per core). */
export function workerCount(workers: string, source = 'workers'): number {
  if (workers === 'auto') return Math.max(1, availableParallelism());
  const n = Number(workers);
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw configError(
      `${source}: expected a number from 1 to 256 or auto, got ${JSON.stringify(workers)}`,
    );
  }
  return n;
}

/** One parsed room policy. */
export interface RoomPolicyRule {
  pattern: string;
  mergeWindowMs: number;
  lossy: boolean;
  /** The window adapts to the room's rate (the default); `fixed` waits the whole window. */
  adaptive: boolean;
}

const POLICY = /^([^=]+)=(\d+)(?:\/(lossy|reliable))?(?:\/(adaptive|fixed))?$/;

/** Parses `PATTERN=WINDOW_MS[/lossy|reliable][/adaptive|fixed]` rules, throwing on a malformed one. */
export function parseRoomPolicies(
  rules: readonly string[],
  source = 'roomPolicies',
): RoomPolicyRule[] {
  return rules.map((rule) => {
    const m = POLICY.exec(rule);
    const window = m ? Number(m[2]) : Number.NaN;
    if (!m || window > 10_000) {
      throw configError(
        `${source}: "${rule}" is not PATTERN=MERGE_WINDOW_MS[/lossy|reliable][/adaptive|fixed] with a window up to 10000`,
      );
    }
    return {
      pattern: m[1]!,
      mergeWindowMs: window,
      lossy: m[3] === 'lossy',
      adaptive: m[4] !== 'fixed',
    };
  });
}

function configError(message: string): BarrageError {
  return new BarrageError('BARRAGE_ERR_CONFIG', message);
}
