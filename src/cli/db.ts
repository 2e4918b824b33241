import { migrateStore } from '../server/index.js';
import { configFromFlags, parseServerFlags, UsageError } from './args.js';

const DB_HELP = `Usage: barrage db migrate [--store embedded|postgres] [--database-url URL] [--data-dir DIR]

Applies the store's pending schema migrations (docs/storage.md) and exits. A server applies them
at start too; run this first to migrate before rolling out new nodes. Takes the serve flags,
env vars and --config file.
`;

/** `barrage db migrate`: applies pending migrations of the configured store. */
export async function dbCommand(argv: string[]): Promise<number> {
  const [what, ...rest] = argv;
  if (what === '-h' || what === '--help') {
    process.stdout.write(DB_HELP);
    return 0;
  }
  if (what !== 'migrate') throw new UsageError('usage: barrage db migrate [flags]');
  const config = configFromFlags(parseServerFlags(rest, { config: { type: 'string' } }));
  const result = await migrateStore(config);
  if (result === null) {
    process.stderr.write('barrage: no store configured (--store none): nothing to migrate\n');
    return 1;
  }
  process.stdout.write(`${result.kind}: schema at version ${result.version}\n`);
  return 0;
}
