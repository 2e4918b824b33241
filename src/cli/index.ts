#!/usr/bin/env node
import { BarrageError } from '../errors.js';
import { UsageError } from './args.js';

const HELP = `Usage: barrage <command> [flags]

Commands:
  serve     start a server (barrage serve --help lists every flag with its default)
  push      publish, push or broadcast through a running server's HTTP API
  bench     run the load generator and scenarios (barrage bench --help)
  timeline  'timeline seed ROOM --count N' fills a timeline room with a realistic spread of comments
  db        'db migrate' applies the store's schema migrations (PostgreSQL or embedded)
  config    'config doc' prints the configuration reference, 'config defaults' a JSON config

Flags:
  -h, --help       this help
  -v, --version    print the version
`;

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./serve.js')).serve,
  push: async () => (await import('./push.js')).push,
  config: async () => (await import('./config-cmd.js')).configCommand,
  bench: async () => (await import('./bench.js')).runBench,
  db: async () => (await import('./db.js')).dbCommand,
  timeline: async () => (await import('./timeline.js')).timelineCommand,
};

/** The command being run, once known: a usage error points to its help. */
let command: string | null = null;

/** The CLI entry: the only place that touches process.exit. */
async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(HELP);
    return name === undefined ? 2 : 0;
  }
  if (name === '-v' || name === '--version') {
    const { packageVersion } = await import('../server/index.js');
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  const load = COMMANDS[name];
  if (!load) throw new UsageError(`unknown command "${name}"`);
  command = name;
  return (await load())(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (
      err instanceof UsageError ||
      (err instanceof BarrageError && err.code === 'BARRAGE_ERR_CONFIG')
    ) {
      const help = command ? `barrage ${command} --help` : 'barrage --help';
      process.stderr.write(`barrage: ${(err as Error).message}\nTry '${help}'.\n`);
      process.exit(2);
    }
    process.stderr.write(`barrage: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
