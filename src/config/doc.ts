import { envOf, flagOf, OPTIONS, type OptionKey, type OptionSpec } from './schema.js';

const GROUPS: OptionSpec['group'][] = [
  'Network',
  'Security',
  'Limits',
  'Rooms and history',
  'Storage',
  'Cluster',
  'Operations',
];

/** The default of an option as text. */
export function defaultText(spec: OptionSpec): string {
  if (Array.isArray(spec.default)) return spec.default.length ? spec.default.join(',') : '(none)';
  if (spec.default === '') return '(none)';
  return String(spec.default);
}

/** The `barrage serve --help` text, every flag with its default, grouped. */
export function flagsHelp(): string {
  const lines: string[] = [];
  for (const group of GROUPS) {
    lines.push(`${group}:`);
    for (const [key, spec] of Object.entries(OPTIONS) as [OptionKey, OptionSpec][]) {
      if (spec.group !== group) continue;
      const flag = spec.type === 'bool' ? `--[no-]${flagOf(key)}` : `--${flagOf(key)} <value>`;
      // An enum lists its values unless its help already names each one.
      const listed = spec.values?.every((v) => spec.help.includes(v)) ?? true;
      const values = listed ? '' : `: ${spec.values?.join(', ')}`;
      lines.push(
        `  ${flag.padEnd(36)} ${spec.help}${values} [default: ${defaultText(spec)}] (${envOf(key)})`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}

/** docs/configuration.md, generated from the option table (a test keeps the file in sync). */
export function configurationMarkdown(): string {
  const out = [
    '# Configuration',
    '',
    'Generated from `src/config/schema.ts` by `barrage config doc`; do not edit by hand.',
    '',
    'Every option can be set, from lowest to highest precedence, by its default, a key in a JSON',
    'config file (`barrage serve --config barrage.json`), an environment variable, or a flag.',
    'A bad value or an unknown flag or key stops the server with exit code 2 and a message naming it.',
    'Lists are comma-separated in env vars and flags, and JSON arrays in the file.',
    'A `bool` option marked `--[no-]flag` is turned on by `--flag` and off by `--no-flag`; it also',
    'takes a value, `--flag true|false` or `--flag=true|false` (1 and 0 work too). In env vars it is',
    '`true`, `false`, `1` or `0`; in the file a JSON `true` or `false`.',
    '',
  ];
  for (const group of GROUPS) {
    out.push(
      `## ${group}`,
      '',
      '| key | flag | env | type | default | meaning |',
      '|---|---|---|---|---|---|',
    );
    for (const [key, spec] of Object.entries(OPTIONS) as [OptionKey, OptionSpec][]) {
      if (spec.group !== group) continue;
      const type = spec.type === 'enum' ? spec.values?.join(' \\| ') : spec.type;
      const range = spec.min !== undefined ? ` (${spec.min}–${spec.max})` : '';
      out.push(
        `| \`${key}\` | \`--${spec.type === 'bool' ? '[no-]' : ''}${flagOf(key)}\` | \`${envOf(key)}\` | ${type}${range} | \`${defaultText(spec)}\` | ${spec.help.replace(/\|/g, '\\|')} |`,
      );
    }
    out.push('');
  }
  return out.join('\n');
}
