import { configurationMarkdown, OPTIONS } from '../config/index.js';
import { UsageError } from './args.js';

/** `barrage config --help`. */
export const CONFIG_HELP = `Usage: barrage config doc|defaults

  doc        print docs/configuration.md: every option with its flag, env var and default
  defaults   print a JSON config file of the defaults (secrets blank), for --config
  -h, --help this help
`;

/** `barrage config doc` prints docs/configuration.md; `barrage config defaults` a JSON file of defaults. */
export async function configCommand(argv: string[]): Promise<number> {
  const [what, ...rest] = argv;
  if (what === '-h' || what === '--help') {
    process.stdout.write(CONFIG_HELP);
    return 0;
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`);
  if (what === 'doc') {
    process.stdout.write(configurationMarkdown());
    return 0;
  }
  if (what === 'defaults') {
    const defaults: Record<string, unknown> = {};
    for (const [key, spec] of Object.entries(OPTIONS))
      defaults[key] = 'secret' in spec ? '' : spec.default;
    process.stdout.write(`${JSON.stringify(defaults, null, 2)}\n`);
    return 0;
  }
  throw new UsageError('usage: barrage config doc|defaults');
}
