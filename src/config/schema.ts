/**
 * Every server option, once: its type, default, bounds and help. Flags (`--kebab-case`), env
 * vars (`BARRAGE_SNAKE_CASE`), config-file keys (camelCase), `--help` and docs/configuration.md
 * all come from this table.
 */
import type { OptionSpec } from './option-spec.js';
import { CLUSTER_OPTIONS } from './options/cluster.js';
import { LIMIT_OPTIONS } from './options/limits.js';
import { NETWORK_OPTIONS } from './options/network.js';
import { OPERATIONS_OPTIONS } from './options/operations.js';
import { ROOM_OPTIONS } from './options/rooms.js';
import { SECURITY_OPTIONS } from './options/security.js';
import { STORAGE_OPTIONS } from './options/storage.js';

export type { OptionSpec, OptionType } from './option-spec.js';
export { CATCH_ALL_ROOM_POLICY } from './options/rooms.js';

/**
 * The option table, one file per group (src/config/options/), in the order of help and docs.
 * Keep it in sync with `ServerConfig` below (the type check enforces it).
 */
export const OPTIONS = {
  ...NETWORK_OPTIONS,
  ...SECURITY_OPTIONS,
  ...LIMIT_OPTIONS,
  ...ROOM_OPTIONS,
  ...STORAGE_OPTIONS,
  ...CLUSTER_OPTIONS,
  ...OPERATIONS_OPTIONS,
} as const satisfies Record<string, OptionSpec>;

/** An option's name (camelCase). */
export type OptionKey = keyof typeof OPTIONS;

type ValueOf<S extends OptionSpec> = S['type'] extends 'bool'
  ? boolean
  : S['type'] extends 'int' | 'number'
    ? number
    : S['type'] extends 'list'
      ? readonly string[]
      : S extends { type: 'enum'; values: readonly (infer V)[] }
        ? V
        : string;

/** The validated, frozen configuration: one field per option. */
export type ServerConfig = { readonly [K in OptionKey]: ValueOf<(typeof OPTIONS)[K]> };

/** A log level (`logLevel`). */
export type LogLevel = ServerConfig['logLevel'];

/** A log format (`logFormat`). */
export type LogFormat = ServerConfig['logFormat'];

/** `--kebab-case` flag name of an option. */
export function flagOf(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** `BARRAGE_SNAKE_CASE` env var of an option. */
export function envOf(key: string): string {
  return `BARRAGE_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}
