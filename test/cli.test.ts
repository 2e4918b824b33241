/**
 * The `barrage` command line, run as a real process: `node --import tsx src/cli/index.ts` from
 * the repository root. Servers it starts listen on 127.0.0.1 port 0 and are stopped by PID.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { configurationMarkdown, defaultText, envOf, flagOf, OPTIONS } from '../src/config/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = ['--import', 'tsx', 'src/cli/index.ts'];

/** The test's environment without any BARRAGE_ variable, plus `extra`. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BARRAGE_')) env[k] = v;
  // No store unless a test asks for one: parallel tests must not share ./data.
  return { ...env, BARRAGE_STORE: 'none', ...extra };
}

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion (killed after `timeoutMs`). */
function run(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 20_000,
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], { cwd: ROOT, env: cleanEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c;
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`barrage ${args.join(' ')} did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A running `barrage serve`, its URL read from the "barrage listening" log line. */
interface Served {
  child: ChildProcess;
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
  /** Resolves with the first JSON log line, past or future, that `pred` accepts (5 s at most). */
  logLine: (pred: (e: Record<string, unknown>) => boolean) => Promise<Record<string, unknown>>;
}

const running = new Set<ChildProcess>();

async function serve(args: string[], env: Record<string, string> = {}): Promise<Served> {
  const child = spawn(process.execPath, [...CLI, 'serve', '--host', '127.0.0.1', ...args], {
    cwd: ROOT,
    env: cleanEnv(env),
  });
  running.add(child);
  let stderr = '';
  const entries: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  child.stderr.on('data', (c: Buffer) => {
    stderr += c;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no listening line in 15 s; stderr: ${stderr}`)),
      15_000,
    );
    void exited.then(({ code }) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        entries.push(JSON.parse(line));
        for (const waiter of waiters) waiter();
      } catch {}
      let entry: { msg?: string; url?: string };
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      if (entry.msg === 'barrage listening' && entry.url) {
        clearTimeout(timer);
        resolve(entry.url);
      }
    });
  });
  const logLine = (pred: (e: Record<string, unknown>) => boolean) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const found = entries.find(pred);
        if (!found) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no such log line in 5 s; got ${JSON.stringify(entries)}`));
      }, 5000);
      waiters.add(check);
      check();
    });
  return { child, url, exited, stderr: () => stderr, logLine };
}

/** Stops a server by PID with SIGTERM and resolves with how it exited and how long it took. */
async function stop(s: Served): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  s.child.kill('SIGTERM');
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error('no exit within 10 s of SIGTERM')), 10_000).unref(),
  );
  const { code } = await Promise.race([s.exited, timeout]);
  return { code, ms: Date.now() - started };
}

/** Opens a WebSocket to a server and resolves with it and its first (welcome) message. */
async function openSocket(
  url: string,
): Promise<{ ws: WebSocket; welcome: Record<string, unknown> }> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`);
  const welcome = await new Promise<Record<string, unknown>>((resolve, reject) => {
    ws.once('message', (data) => resolve(JSON.parse(String(data).split('\n')[0]!)));
    ws.once('error', reject);
    setTimeout(() => reject(new Error('no welcome within 5 s')), 5000).unref();
  });
  return { ws, welcome };
}

const dir = mkdtempSync(join(tmpdir(), 'barrage-cli-'));
after(() => {
  for (const child of running) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('barrage CLI', () => {
  describe('help and usage', { concurrency: 4 }, () => {
    it('prints the commands on --help and exits 0', async () => {
      const r = await run(['--help']);
      assert.equal(r.code, 0, r.stderr);
      for (const command of ['serve', 'push', 'bench', 'config']) {
        assert.match(r.stdout, new RegExp(`^\\s+${command}\\s`, 'm'), `--help lacks ${command}`);
      }
    });

    it('prints the help and exits 2 without a command', async () => {
      const r = await run([]);
      assert.equal(r.code, 2);
      assert.ok(r.stdout.includes('Usage: barrage <command>'));
    });

    it('exits 2 naming an unknown command', async () => {
      const r = await run(['srve']);
      assert.equal(r.code, 2);
      assert.ok(r.stderr.includes('unknown command "srve"'), r.stderr);
    });

    it('lists every option of serve with its flag, default and env var', async () => {
      const r = await run(['serve', '--help']);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split('\n');
      for (const [key, spec] of Object.entries(OPTIONS)) {
        const flag = `--${spec.type === 'bool' ? '[no-]' : ''}${flagOf(key)} `;
        const line = lines.find((l) => l.trimStart().startsWith(flag));
        assert.ok(line, `serve --help lacks --${flagOf(key)}`);
        assert.ok(line.includes(`[default: ${defaultText(spec)}]`), `--${flagOf(key)}: ${line}`);
        assert.ok(line.includes(`(${envOf(key)})`), `--${flagOf(key)}: ${line}`);
      }
      assert.ok(r.stdout.includes('--config <file>'));
    });

    it('exits 2 naming an unknown flag, the likely one, and the subcommand help', async () => {
      const r = await run(['serve', '--prot', '80']);
      assert.equal(r.code, 2);
      assert.ok(r.stderr.includes("unknown option '--prot' (did you mean --port?)"), r.stderr);
      assert.ok(r.stderr.includes("Try 'barrage serve --help'."), r.stderr);
    });

    it('points a usage error of push to push --help', async () => {
      const r = await run(['push', '--rooom', 'x']);
      assert.equal(r.code, 2);
      assert.ok(r.stderr.includes("Try 'barrage push --help'."), r.stderr);
    });

    it('names the boolean flag a stray word follows', async () => {
      const r = await run(['serve', '--web', 'no']);
      assert.equal(r.code, 2);
      assert.ok(r.stderr.includes('--web takes true or false (or no value), got "no"'), r.stderr);
    });

    it('lists the values of --log-level in serve --help and in its error', async () => {
      const values = OPTIONS.logLevel.values.join(', ');
      const help = await run(['serve', '--help']);
      const line = help.stdout.split('\n').find((l) => l.trimStart().startsWith('--log-level '));
      assert.ok(line?.includes(values), line);
      const r = await run(['serve', '--log-level', 'loud']);
      assert.equal(r.code, 2);
      assert.ok(r.stderr.includes(`--log-level: expected one of ${values}, got "loud"`), r.stderr);
    });

    it('exits 2 saying a config file is not valid JSON, naming it', async () => {
      const path = join(dir, 'syntax.json');
      writeFileSync(path, '{\n  "port": 0,\n}\n');
      const r = await run(['serve', '--config', path]);
      assert.equal(r.code, 2);
      assert.ok(r.stderr.includes(`config file ${path} is not valid JSON`), r.stderr);
      assert.ok(r.stderr.includes("Try 'barrage serve --help'."), r.stderr);
    });

    it('exits 2 naming --port when its value is not a number', async () => {
      const r = await run(['serve', '--port', 'abc']);
      assert.equal(r.code, 2);
      assert.ok(
        r.stderr.includes('--port: expected an integer from 0 to 65535, got "abc"'),
        r.stderr,
      );
    });

    it('exits 2 naming a flag that lacks its value', async () => {
      const r = await run(['serve', '--port']);
      assert.equal(r.code, 2);
      assert.ok(r.stderr.includes('--port'), r.stderr);
    });

    it('exits 2 naming BARRAGE_PORT when it is not a number', async () => {
      const r = await run(['serve'], { BARRAGE_PORT: 'abc' });
      assert.equal(r.code, 2);
      assert.ok(r.stderr.includes('BARRAGE_PORT: expected an integer'), r.stderr);
    });

    it('exits 2 naming a config file it cannot read', async () => {
      const path = join(dir, 'missing.json');
      const r = await run(['serve', '--config', path]);
      assert.equal(r.code, 2);
      assert.ok(r.stderr.includes(`cannot read config file ${path}`), r.stderr);
    });

    it('exits 2 naming an unknown key of the config file', async () => {
      const path = join(dir, 'unknown-key.json');
      writeFileSync(path, JSON.stringify({ prot: 80 }));
      const r = await run(['serve', '--config', path]);
      assert.equal(r.code, 2);
      assert.ok(
        r.stderr.includes(`config file ${path}: unknown option "prot" (did you mean "port"?)`),
        r.stderr,
      );
    });

    it('README runs the CLI as a user types it in a checkout (npx barrage)', () => {
      const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
      const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
      const bare = blocks.flatMap((b) => b.split('\n')).filter((l) => /^barrage\s/.test(l));
      assert.deepEqual(bare, [], 'a bare `barrage` is not on PATH after npm install');
      assert.ok(blocks.some((b) => b.includes('npx barrage serve')));
    });

    it('db migrate takes the serve flags in every spelling, booleans included', async () => {
      const dataDir = join(dir, 'db-migrate');
      const r = await run([
        'db',
        'migrate',
        '--store',
        'embedded',
        '--data-dir',
        dataDir,
        '--no-web',
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /: schema at version \d+/);
    });

    it('prints docs/configuration.md on config doc', async () => {
      const r = await run(['config', 'doc']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8'));
      assert.equal(r.stdout, configurationMarkdown());
    });

    it('prints a JSON config of the defaults, secrets blank, on config defaults', async () => {
      const r = await run(['config', 'defaults']);
      assert.equal(r.code, 0, r.stderr);
      const defaults = JSON.parse(r.stdout) as Record<string, unknown>;
      assert.deepStrictEqual(Object.keys(defaults).sort(), Object.keys(OPTIONS).sort());
      assert.equal(defaults.port, 8080);
      assert.equal(defaults.apiKey, '');
      assert.deepStrictEqual(defaults.roomPolicies, ['live:*=50/lossy', '*=50/reliable']);
    });

    it('exits 2 on an unknown config subcommand', async () => {
      const r = await run(['config', 'docs']);
      assert.equal(r.code, 2);
      assert.ok(r.stderr.includes('usage: barrage config doc|defaults'), r.stderr);
      assert.ok(r.stderr.includes("Try 'barrage config --help'."), r.stderr);
      const help = await run(['config', '--help']);
      assert.equal(help.code, 0, help.stderr);
      assert.ok(help.stdout.startsWith('Usage: barrage config doc|defaults'), help.stdout);
    });
  });

  describe('serve', () => {
    it('listens on port 0, answers /healthz, and on SIGTERM closes clients with 1001 and exits 0', async () => {
      const s = await serve(['--port', '0']);
      const port = Number(new URL(s.url).port);
      assert.ok(port > 0 && port !== 8080, s.url);
      const health = await fetch(`${s.url}/healthz`);
      assert.equal(health.status, 200);
      await health.arrayBuffer();
      const { ws, welcome } = await openSocket(s.url);
      assert.equal(welcome.type, 'welcome');
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      const { code, ms } = await stop(s);
      assert.equal(code, 0, s.stderr());
      assert.ok(ms < 10_000, `took ${ms} ms`);
      assert.equal(await closed, 1001);
    });

    for (const spelling of [['--no-web'], ['--web', 'false'], ['--web=false']]) {
      it(`serves no demo page with ${spelling.join(' ')} (bug: it was an unknown option)`, async () => {
        const s = await serve(['--port', '0', ...spelling, '--no-require-auth']);
        try {
          const page = await fetch(`${s.url}/`);
          assert.equal(page.status, 404);
          await page.arrayBuffer();
        } finally {
          assert.equal((await stop(s)).code, 0);
        }
      });
    }

    it('logs a debug line per connection open and close and per HTTP request at --log-level debug', async () => {
      const s = await serve(['--port', '0', '--log-level', 'debug', '--log-format', 'json']);
      try {
        const res = await fetch(`${s.url}/healthz?probe=1`);
        await res.arrayBuffer();
        const { ws, welcome } = await openSocket(s.url);
        const closed = new Promise((resolve) => ws.once('close', resolve));
        ws.close(1000);
        await closed;
        const request = await s.logLine((e) => e.msg === 'http request');
        assert.deepEqual(
          [request.method, request.path, request.status],
          ['GET', '/healthz', 200],
          'the path without its query',
        );
        const open = await s.logLine((e) => e.msg === 'connection open');
        const close = await s.logLine((e) => e.msg === 'connection closed');
        assert.equal(open.connId, welcome.connId);
        assert.equal(close.connId, welcome.connId);
        assert.equal(close.code, 1000);
      } finally {
        assert.equal((await stop(s)).code, 0);
      }
    });

    it('writes human-readable lines with --log-format pretty, JSON by default on a pipe', async () => {
      const child = spawn(
        process.execPath,
        [...CLI, 'serve', '--host', '127.0.0.1', '--port', '0', '--log-format', 'pretty'],
        { cwd: ROOT, env: cleanEnv() },
      );
      running.add(child);
      const first = await new Promise<string>((resolve) =>
        createInterface({ input: child.stdout }).once('line', resolve),
      );
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      running.delete(child);
      assert.match(first, /^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: /);
      assert.throws(() => JSON.parse(first));
    });

    it('takes a flag over the config file, and the file over the default', async () => {
      const path = join(dir, 'barrage.json');
      writeFileSync(path, JSON.stringify({ port: 1, heartbeatMs: 1234, logLevel: 'info' }));
      const s = await serve(['--config', path, '--port', '0']);
      try {
        assert.notEqual(new URL(s.url).port, '1', 'the flag --port 0 beats the file port 1');
        const { ws, welcome } = await openSocket(s.url);
        assert.equal(welcome.heartbeat, 1234, 'the file heartbeat beats the default');
        ws.close();
      } finally {
        assert.equal((await stop(s)).code, 0);
      }
    });

    it('takes env over the config file, and a flag over env', async () => {
      const path = join(dir, 'layers.json');
      writeFileSync(path, JSON.stringify({ heartbeatMs: 1111, presenceIntervalMs: 500 }));
      const env = { BARRAGE_HEARTBEAT_MS: '2222', BARRAGE_PORT: '0' };
      const envOnly = await serve(['--config', path], env);
      const flagged = await serve(['--config', path, '--heartbeat-ms', '3333'], env);
      try {
        const a = await openSocket(envOnly.url);
        const b = await openSocket(flagged.url);
        assert.equal(a.welcome.heartbeat, 2222);
        assert.equal(b.welcome.heartbeat, 3333);
        a.ws.close();
        b.ws.close();
      } finally {
        assert.equal((await stop(envOnly)).code, 0);
        assert.equal((await stop(flagged)).code, 0);
      }
    });
  });
});
