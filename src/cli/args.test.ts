import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveConfig } from '../config/index.js';
import {
  booleanServerFlags,
  parseServerFlags,
  serverOptionsFromFlags,
  UsageError,
} from './args.js';

/** The config `barrage serve ARGV` would run with (no file, no env). */
function configOf(argv: string[]) {
  return resolveConfig({ flags: serverOptionsFromFlags(parseServerFlags(argv)) });
}

describe('boolean server flags', () => {
  const bools = [...booleanServerFlags()];

  it('covers every bool option of the table', () => {
    for (const flag of ['web', 'require-auth', 'allow-anonymous-publish', 'metrics-public'])
      assert.ok(bools.includes(flag), flag);
  });

  for (const flag of bools) {
    const key = flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as 'web';
    it(`accepts --${flag}, --no-${flag}, --${flag} true|false and --${flag}=false`, () => {
      assert.equal(configOf([`--${flag}`])[key], true);
      assert.equal(configOf([`--no-${flag}`])[key], false);
      assert.equal(configOf([`--${flag}`, 'false'])[key], false);
      assert.equal(configOf([`--${flag}`, 'true'])[key], true);
      assert.equal(configOf([`--${flag}=false`])[key], false);
      assert.equal(configOf([`--${flag}`, '0'])[key], false);
      // The last spelling wins, as for every other flag.
      assert.equal(configOf([`--no-${flag}`, `--${flag}`])[key], true);
    });
  }

  it('takes a boolean flag bare before another flag', () => {
    const config = configOf(['--no-web', '--port', '0', '--metrics-public', '--host', '::1']);
    assert.equal(config.web, false);
    assert.equal(config.metricsPublic, true);
    assert.equal(config.port, 0);
    assert.equal(config.host, '::1');
  });

  it('refuses a word that is not a boolean, naming the flag', () => {
    assert.throws(() => configOf(['--web=maybe']), /--web: expected true or false, got "maybe"/);
    assert.throws(() => configOf(['--web', 'maybe']), UsageError);
  });

  it('refuses --no- before an option that is not a boolean', () => {
    assert.throws(() => configOf(['--no-port']), UsageError);
  });
});
