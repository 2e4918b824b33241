import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BarrageError } from '../errors.js';
import { DEFAULT_PARSE_LIMITS } from '../protocol/index.js';
import { MAX_JOIN_HISTORY } from './derived.js';
import { configurationMarkdown } from './doc.js';
import {
  type ConfigLayers,
  coerce,
  parseRoomPolicies,
  type RawOptions,
  readConfigFile,
  resolveConfig,
} from './load.js';
import { envOf, flagOf, OPTIONS, type OptionKey } from './schema.js';

/** Asserts that resolving `layers` throws a config error whose message holds `text`. */
function refuses(layers: ConfigLayers, text: string): void {
  assert.throws(
    () => resolveConfig(layers),
    (err: unknown) => {
      assert.ok(err instanceof BarrageError, `not a BarrageError: ${String(err)}`);
      assert.equal(err.code, 'BARRAGE_ERR_CONFIG');
      assert.ok(
        err.message.includes(text),
        `${JSON.stringify(err.message)} lacks ${JSON.stringify(text)}`,
      );
      return true;
    },
  );
}

const flags = (f: Record<string, unknown>): RawOptions => f as RawOptions;

describe('resolveConfig', () => {
  describe('precedence', () => {
    const file = { port: 1001 };
    const env = { BARRAGE_PORT: '1002' };
    const fl = flags({ port: '1003' });
    const overrides = flags({ port: 1004 });

    it('takes the default when nothing sets the option', () => {
      assert.equal(resolveConfig({}).port, 8080);
    });
    it('takes the file over the default', () => {
      assert.equal(resolveConfig({ file }).port, 1001);
    });
    it('takes env over the file', () => {
      assert.equal(resolveConfig({ file, env }).port, 1002);
    });
    it('takes flags over env', () => {
      assert.equal(resolveConfig({ file, env, flags: fl }).port, 1003);
    });
    it('takes overrides over flags', () => {
      assert.equal(resolveConfig({ file, env, flags: fl, overrides }).port, 1004);
    });
    it('lets each layer set different options side by side', () => {
      const c = resolveConfig({
        file: { host: '0.0.0.0', port: 1 },
        env: { BARRAGE_HEARTBEAT_MS: '5000' },
        flags: flags({ historySize: '7' }),
        overrides: flags({ logLevel: 'silent' }),
      });
      assert.deepStrictEqual(
        [c.host, c.port, c.heartbeatMs, c.historySize, c.logLevel],
        ['0.0.0.0', 1, 5000, 7, 'silent'],
      );
    });
    it('ignores empty env vars and undefined flags, keeping the lower layer', () => {
      const c = resolveConfig({
        file,
        env: { BARRAGE_PORT: '' },
        flags: flags({ port: undefined }),
        overrides: flags({ port: undefined }),
      });
      assert.equal(c.port, 1001);
    });
    it('reads only BARRAGE_ variables of known options from the environment', () => {
      const c = resolveConfig({ env: { PORT: '1', BARRAGE_NOT_AN_OPTION: 'x', HOST: 'h' } });
      assert.equal(c.port, 8080);
      assert.equal(c.host, '127.0.0.1');
    });
  });

  describe('result', () => {
    it('holds every option, at its default when unset', () => {
      const c = resolveConfig({});
      for (const [key, spec] of Object.entries(OPTIONS)) {
        assert.deepStrictEqual(c[key as OptionKey], spec.default, key);
      }
      assert.deepStrictEqual(Object.keys(c).sort(), Object.keys(OPTIONS).sort());
    });
    it('is frozen, lists included', () => {
      const c = resolveConfig({ flags: flags({ origins: 'https://a.example' }) });
      assert.ok(Object.isFrozen(c));
      assert.ok(Object.isFrozen(c.origins));
    });
  });

  describe('coercion', () => {
    const rows: [string, OptionKey, unknown, unknown][] = [
      ['int from text', 'port', '42', 42],
      ['int from a number', 'port', 42, 42],
      ['int at its minimum', 'port', '0', 0],
      ['int at its maximum', 'port', '65535', 65535],
      ['number with a fraction', 'publishRate', '0.5', 0.5],
      ['number from a file number', 'publishRate', 2.5, 2.5],
      ['bool "true"', 'requireAuth', 'true', true],
      ['bool "1"', 'requireAuth', '1', true],
      ['bool "false"', 'web', 'false', false],
      ['bool "0"', 'web', '0', false],
      ['bool from a boolean', 'web', false, false],
      [
        'list from text, trimmed, empties dropped',
        'origins',
        ' https://a.example , ,https://b.example,',
        ['https://a.example', 'https://b.example'],
      ],
      ['list from an array', 'roomPolicies', ['a=1', ' b=2 '], ['a=1', 'b=2']],
      ['list from an empty string', 'origins', '', []],
      ['enum', 'logLevel', 'debug', 'debug'],
      ['string', 'host', '::1', '::1'],
      ['empty string', 'apiKey', '', ''],
    ];
    for (const [name, key, raw, value] of rows) {
      it(`converts ${name}`, () => assert.deepStrictEqual(coerce(key, raw, 'test'), value));
    }

    const bad: [string, OptionKey, unknown, string][] = [
      ['int from letters', 'port', 'abc', 'expected an integer from 0 to 65535, got "abc"'],
      ['int from a fraction', 'port', '80.5', 'expected an integer from 0 to 65535'],
      ['int from blank text', 'port', '  ', 'expected an integer'],
      ['int from a boolean', 'port', true, 'expected an integer'],
      ['int from null', 'port', null, 'expected an integer'],
      ['int above its maximum', 'port', '65536', 'expected a value from 0 to 65535, got "65536"'],
      ['int below its minimum', 'port', -1, 'expected a value from 0 to 65535, got -1'],
      ['int of Infinity', 'historySize', 'Infinity', 'expected an integer'],
      ['number below its minimum', 'publishRate', '0.001', 'expected a value from 0.01 to 1000000'],
      ['number from letters', 'publishRate', 'fast', 'expected a number from 0.01'],
      ['bool from "yes"', 'web', 'yes', 'expected true or false, got "yes"'],
      ['bool from a number', 'web', 1, 'expected true or false'],
      [
        'list with a number',
        'origins',
        ['https://a.example', 5],
        'expected a comma-separated list',
      ],
      ['list from an object', 'origins', { a: 1 }, 'expected a comma-separated list'],
      [
        'enum outside its values',
        'logLevel',
        'loud',
        'expected one of fatal, error, warn, info, debug, trace, silent, got "loud"',
      ],
      ['enum of the wrong case', 'logLevel', 'INFO', 'expected one of'],
      ['string from a number', 'host', 5, 'expected a string, got 5'],
      ['string from an array', 'apiKey', ['k'], 'expected a string'],
    ];
    for (const [name, key, raw, message] of bad) {
      it(`refuses ${name}`, () => {
        assert.throws(
          () => coerce(key, raw, 'SRC'),
          (err: unknown) =>
            err instanceof BarrageError &&
            err.code === 'BARRAGE_ERR_CONFIG' &&
            err.message.includes(`SRC: ${message}`),
        );
      });
    }

    it('accepts every option’s own default', () => {
      for (const [key, spec] of Object.entries(OPTIONS)) {
        assert.deepStrictEqual(
          coerce(key as OptionKey, spec.default, 'default'),
          spec.default,
          key,
        );
      }
    });
  });

  describe('error messages name the source', () => {
    it('names the flag', () =>
      refuses({ flags: flags({ port: 'abc' }) }, '--port: expected an integer'));
    it('names a multi-word flag in kebab case', () =>
      refuses({ flags: flags({ heartbeatMs: '1' }) }, '--heartbeat-ms: expected a value from 100'));
    it('names the env var', () =>
      refuses({ env: { BARRAGE_PORT: 'abc' } }, 'BARRAGE_PORT: expected an integer'));
    it('names a multi-word env var', () =>
      refuses(
        { env: { BARRAGE_SEND_SOFT_LIMIT_BYTES: 'x' } },
        'BARRAGE_SEND_SOFT_LIMIT_BYTES: expected',
      ));
    it('names the file key', () =>
      refuses({ file: { port: 'abc' } }, 'config file: "port": expected an integer'));
    it('names the file and its key', () =>
      refuses(
        { file: { port: 'abc' }, filePath: 'conf/barrage.json' },
        'config file conf/barrage.json: "port": expected an integer',
      ));
    it('names the library option', () =>
      refuses({ overrides: flags({ port: 'abc' }) }, 'option port: expected an integer'));
    it('reports the highest layer’s bad value even when a lower one is fine', () =>
      refuses({ file: { port: 1 }, flags: flags({ port: '-5' }) }, '--port: expected a value'));
    it('reports a bad lower layer even when a higher one overrides it', () =>
      refuses({ file: { port: 'abc' }, flags: flags({ port: '1' }) }, 'config file: "port"'));
  });

  describe('unknown options', () => {
    it('refuses an unknown file key, naming it', () =>
      refuses({ file: { prot: 80 } }, 'config file: unknown option "prot"'));
    it('refuses an unknown file key, naming the file and the likely key', () =>
      refuses(
        { file: { prot: 80 }, filePath: '/etc/barrage.json' },
        'config file /etc/barrage.json: unknown option "prot" (did you mean "port"?)',
      ));
    it('suggests the camelCase key for a key spelled as a flag', () =>
      refuses({ file: { 'heartbeat-ms': 1 } }, '(did you mean "heartbeatMs"?)'));
    it('suggests nothing for a key like no option', () =>
      assert.throws(
        () => resolveConfig({ file: { zzzzzzzz: 1 } }),
        (e: Error) => e.message.endsWith('unknown option "zzzzzzzz"'),
      ));
    it('refuses a file key in the wrong case', () =>
      refuses({ file: { Port: 80 } }, 'unknown option "Port"'));
    it('refuses a file key spelled as a flag', () =>
      refuses({ file: { 'heartbeat-ms': 80 } }, 'unknown option "heartbeat-ms"'));
    it('refuses an unknown flag or library option', () => {
      refuses({ flags: flags({ prot: '80' }) }, 'unknown option "prot"');
      refuses({ overrides: flags({ prot: 80 }) }, 'unknown option "prot"');
    });
  });

  describe('rules between options', () => {
    it('refuses a soft send limit equal to the hard one', () =>
      refuses(
        { flags: flags({ sendSoftLimitBytes: '4096', sendHardLimitBytes: '4096' }) },
        '--send-soft-limit-bytes (4096) must be below --send-hard-limit-bytes (4096)',
      ));
    it('refuses a soft send limit above the hard one', () =>
      refuses(
        { flags: flags({ sendSoftLimitBytes: String(2 * 1024 * 1024) }) },
        '--send-soft-limit-bytes (2097152) must be below sendHardLimitBytes (1048576)',
      ));
    it('names each option where it was set: file, env or flag', () =>
      refuses(
        {
          file: { sendSoftLimitBytes: 8192 },
          filePath: 'site.json',
          env: { BARRAGE_SEND_HARD_LIMIT_BYTES: '4096' },
        },
        'config file site.json: "sendSoftLimitBytes" (8192) must be below BARRAGE_SEND_HARD_LIMIT_BYTES (4096)',
      ));
    it('names the flag of a bad workers count', () =>
      refuses({ flags: flags({ workers: 'many' }) }, '--workers: expected a number'));
    it('accepts a soft send limit just below the hard one', () => {
      const c = resolveConfig({
        flags: flags({ sendSoftLimitBytes: '4095', sendHardLimitBytes: '4096' }),
      });
      assert.equal(c.sendSoftLimitBytes, 4095);
    });
    it('refuses both redisUrl and redisCluster', () =>
      refuses(
        { flags: flags({ redisUrl: 'redis://127.0.0.1:6379', redisCluster: '127.0.0.1:7000' }) },
        'not --redis-url and --redis-cluster',
      ));
    it('refuses sentinels without a master name, and a master name alone', () => {
      refuses(
        { flags: flags({ redisSentinels: '127.0.0.1:26379' }) },
        '--redis-sentinels needs redisMasterName',
      );
      refuses(
        { flags: flags({ redisMasterName: 'mymaster' }) },
        '--redis-master-name is only used with redisSentinels',
      );
    });
    it('takes sentinels and a master name from flags, env and a config file', () => {
      const c = resolveConfig({
        flags: flags({ redisSentinels: '127.0.0.1:26379,127.0.0.1:26380' }),
        env: { BARRAGE_REDIS_MASTER_NAME: 'mymaster' },
      });
      assert.deepEqual(c.redisSentinels, ['127.0.0.1:26379', '127.0.0.1:26380']);
      assert.equal(c.redisMasterName, 'mymaster');
      const f = resolveConfig({
        file: { redisSentinels: ['10.0.0.1:26379'], redisMasterName: 'prod' },
        env: { BARRAGE_REDIS_SENTINELS: '10.0.0.2:26379' },
      });
      assert.deepEqual([f.redisSentinels, f.redisMasterName], [['10.0.0.2:26379'], 'prod']);
    });
    it('refuses a sentinel or cluster address that is not host:port', () => {
      refuses(
        { flags: flags({ redisSentinels: 'sentinel.local', redisMasterName: 'm' }) },
        '--redis-sentinels: "sentinel.local" is not host:port',
      );
      refuses({ flags: flags({ redisCluster: '127.0.0.1' }) }, '--redis-cluster: "127.0.0.1"');
    });
    it('refuses a Redis URL of another scheme, or with a path that is no database number', () => {
      refuses({ flags: flags({ redisUrl: 'http://127.0.0.1:6379' }) }, 'must start with redis://');
      refuses({ flags: flags({ redisUrl: 'redis://127.0.0.1:6379/x' }) }, 'database number');
      refuses({ flags: flags({ redisUrl: '127.0.0.1:6379' }) }, '--redis-url:');
      refuses(
        { flags: flags({ redisUrl: 'redis://:hunter2@127.0.0.1:6379/db' }) },
        '--redis-url: redis://127.0.0.1:6379/db:',
      );
    });
  });

  describe('origins', () => {
    it('accepts origins and *', () => {
      const c = resolveConfig({
        flags: flags({ origins: 'https://a.example,http://localhost:3000,*' }),
      });
      assert.deepStrictEqual(c.origins, ['https://a.example', 'http://localhost:3000', '*']);
    });
    for (const origin of ['a.example', 'not an origin', '//a.example', 'http://']) {
      it(`refuses ${JSON.stringify(origin)}, naming it`, () =>
        refuses({ flags: flags({ origins: origin }) }, `--origins: "${origin}" is not an origin`));
    }
  });

  describe('room policies', () => {
    it('accepts the default policies', () => {
      assert.deepStrictEqual(resolveConfig({}).roomPolicies, ['live:*=50/lossy', '*=50/reliable']);
    });
    for (const rule of [
      'x',
      '=50',
      'x=',
      'x=-1',
      'x=abc',
      'x=1.5',
      'x=50/fast',
      'x=50/',
      'x=10001',
      'a=b=5',
    ]) {
      it(`refuses ${JSON.stringify(rule)}, naming it`, () =>
        refuses(
          { flags: flags({ roomPolicies: rule }) },
          `--room-policies: "${rule}" is not PATTERN=MERGE_WINDOW_MS`,
        ));
    }
  });
});

describe('parseRoomPolicies', () => {
  it('parses pattern, window and class, reliable and adaptive by default', () => {
    assert.deepStrictEqual(
      parseRoomPolicies(['live:*=50/lossy', 'chat:*=0/reliable', 'x=10000', 'y=20/lossy/fixed']),
      [
        { pattern: 'live:*', mergeWindowMs: 50, lossy: true, adaptive: true },
        { pattern: 'chat:*', mergeWindowMs: 0, lossy: false, adaptive: true },
        { pattern: 'x', mergeWindowMs: 10000, lossy: false, adaptive: true },
        { pattern: 'y', mergeWindowMs: 20, lossy: true, adaptive: false },
      ],
    );
  });
  it('keeps the rules in order (first match wins downstream)', () => {
    const rules = parseRoomPolicies(['b=1', 'a=2', 'c=3']);
    assert.deepStrictEqual(
      rules.map((r) => r.pattern),
      ['b', 'a', 'c'],
    );
  });
  it('parses an empty list to no rules', () => {
    assert.deepStrictEqual(parseRoomPolicies([]), []);
  });
});

describe('readConfigFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'barrage-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('reads a JSON object', () => {
    assert.deepStrictEqual(readConfigFile(write('ok.json', '{"port": 9, "origins": ["*"]}')), {
      port: 9,
      origins: ['*'],
    });
  });
  it('names a missing file', () => {
    const path = join(dir, 'missing.json');
    assert.throws(
      () => readConfigFile(path),
      (e: Error) => e.message.includes(`cannot read config file ${path}`),
    );
  });
  for (const [name, text, says] of [
    ['not JSON', '{port: 9}', 'is not valid JSON: Expected'],
    ['JSON with a trailing comma', '{\n  "port": 9,\n}', 'is not valid JSON'],
    ['a JSON array', '[1]', 'must hold a JSON object of options, got an array'],
    ['JSON null', 'null', 'must hold a JSON object of options, got null'],
    ['a JSON string', '"x"', 'must hold a JSON object of options, got string'],
  ] as const) {
    it(`refuses a file that is ${name}, naming it`, () => {
      const path = write(`${name.replace(/\W/g, '')}.json`, text);
      assert.throws(
        () => readConfigFile(path),
        (e: unknown) =>
          e instanceof BarrageError && e.message.includes(`config file ${path} ${says}`),
      );
    });
  }
  it('says on which line and column the JSON breaks', () => {
    const path = write('line.json', '{\n  "port": 9,\n  heartbeatMs: 1\n}');
    assert.throws(() => readConfigFile(path), /not valid JSON: .*\(line 3, column 3\)/);
  });
});

describe('flagOf and envOf', () => {
  it('derive kebab-case flags and BARRAGE_ snake-case env vars', () => {
    assert.equal(flagOf('sendSoftLimitBytes'), 'send-soft-limit-bytes');
    assert.equal(envOf('sendSoftLimitBytes'), 'BARRAGE_SEND_SOFT_LIMIT_BYTES');
    assert.equal(flagOf('port'), 'port');
    assert.equal(envOf('port'), 'BARRAGE_PORT');
  });
  it('give every option a distinct flag and env var', () => {
    const keys = Object.keys(OPTIONS);
    assert.equal(new Set(keys.map(flagOf)).size, keys.length);
    assert.equal(new Set(keys.map(envOf)).size, keys.length);
  });
});

describe('docs/configuration.md', () => {
  it('equals configurationMarkdown() (regenerate: barrage config doc > docs/configuration.md)', () => {
    const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    assert.equal(doc, configurationMarkdown());
  });
  it('documents every option with its flag, env var and default', () => {
    const doc = configurationMarkdown();
    for (const [key, spec] of Object.entries(OPTIONS)) {
      const flag = `--${spec.type === 'bool' ? '[no-]' : ''}${flagOf(key)}`;
      assert.ok(doc.includes(`| \`${key}\` | \`${flag}\` | \`${envOf(key)}\` |`), key);
    }
  });
});

describe('enum options', () => {
  it('are typed as their values, not as plain strings', () => {
    const config = resolveConfig({
      flags: flags({ blockedWordsAction: 'mask', logLevel: 'debug' }),
    });
    // These assignments fail the type check if the config types enums as string.
    const action: 'reject' | 'mask' = config.blockedWordsAction;
    const level: (typeof OPTIONS.logLevel.values)[number] = config.logLevel;
    assert.equal(action, 'mask');
    assert.equal(level, 'debug');
  });
});

describe('parse limits', () => {
  it('the server defaults equal the protocol parser defaults', () => {
    assert.deepEqual(
      {
        maxTokenLength: OPTIONS.maxTokenLength.default,
        maxEvents: OPTIONS.maxAuthEvents.default,
        maxHistory: MAX_JOIN_HISTORY,
      },
      DEFAULT_PARSE_LIMITS,
    );
  });
});
