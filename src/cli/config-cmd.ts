import { configurationMarkdown, OPTIONS } from '../config/index.js';
import { UsageError } from './args.js';

/** `barrage config doc` prints docs/configuration.md; `barrage config defaults` a JSON file of defaults. */
export async function configCommand(argv: string[]): Promise<number> {
  const [what] = argv;
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
