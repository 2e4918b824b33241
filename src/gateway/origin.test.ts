import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createOriginCheck } from './origin.js';

const HOST = 'barrage.example:8080';

/** [allowlist, origin, host, allowed] */
type Row = [readonly string[], string | undefined, string | undefined, boolean];

const rows: [string, Row[]][] = [
  [
    'requests without an Origin (non-browser clients)',
    [
      [[], undefined, HOST, true],
      [['https://site.example'], undefined, HOST, true],
      [['https://site.example'], undefined, undefined, true],
    ],
  ],
  [
    'the server’s own origin',
    [
      [['https://site.example'], 'http://barrage.example:8080', HOST, true],
      [['https://site.example'], 'https://barrage.example:8080', HOST, true],
      [['https://site.example'], 'http://BARRAGE.example:8080', HOST, true],
      [['https://site.example'], 'http://barrage.example:8080', 'Barrage.Example:8080', true],
      [['https://site.example'], 'http://barrage.example:9090', HOST, false],
      [['https://site.example'], 'http://barrage.example', HOST, false],
      [['https://site.example'], 'http://evil.example', 'evil.example', true],
      [['https://site.example'], 'http://barrage.example:8080', undefined, false],
    ],
  ],
  [
    'localhost, allowed only while the allowlist is empty',
    [
      [[], 'http://localhost:3000', HOST, true],
      [[], 'https://localhost', HOST, true],
      [[], 'http://127.0.0.1:5173', HOST, true],
      [[], 'http://[::1]:8000', HOST, true],
      [['https://site.example'], 'http://localhost:3000', HOST, false],
      [['https://site.example'], 'http://127.0.0.1:5173', HOST, false],
      [[], 'http://localhost.evil.example', HOST, false],
      [[], 'http://evil.example/localhost', HOST, false],
      [[], 'http://127.0.0.2', HOST, false],
      [[], 'https://site.example', HOST, false],
    ],
  ],
  [
    'the allowlist, matched exactly by origin',
    [
      [['https://site.example'], 'https://site.example', HOST, true],
      [['https://site.example', 'https://b.example'], 'https://b.example', HOST, true],
      [['https://site.example'], 'https://SITE.example', HOST, true],
      [['https://site.example/'], 'https://site.example', HOST, true],
      [['https://site.example/app/'], 'https://site.example', HOST, true],
      [['https://site.example:443'], 'https://site.example', HOST, true],
      [['https://site.example'], 'https://site.example:443', HOST, true],
      [['https://site.example'], 'http://site.example', HOST, false],
      [['https://site.example'], 'https://site.example:8443', HOST, false],
      [['https://site.example'], 'https://sub.site.example', HOST, false],
      [['https://site.example'], 'https://site.example.evil.example', HOST, false],
      [['https://site.example'], 'https://evilsite.example', HOST, false],
      [['https://site.example'], 'https://site.example@evil.example', HOST, false],
    ],
  ],
  [
    '"*", which allows every origin',
    [
      [['*'], 'https://anything.example', HOST, true],
      [['*'], 'http://localhost:1', HOST, true],
      [['https://site.example', '*'], 'https://other.example', HOST, true],
    ],
  ],
  [
    'garbage origins',
    [
      [[], 'not a url', HOST, false],
      [[], '', HOST, false],
      [[], 'null', HOST, false],
      [['https://site.example'], 'null', HOST, false],
      [[], 'localhost:3000', HOST, false],
      [[], '//localhost', HOST, false],
    ],
  ],
  [
    'non-http schemes',
    [
      [[], 'file://', HOST, false],
      [[], 'file:///home/user/page.html', HOST, false],
      [[], 'chrome-extension://abcdefghijklmnop', HOST, false],
      [[], 'ws://localhost:3000', HOST, false],
      [[], 'ftp://localhost', HOST, false],
      [[], 'javascript:alert(1)', HOST, false],
      [['https://site.example'], 'ftp://barrage.example:8080', HOST, false],
      [['ftp://site.example'], 'ftp://site.example', HOST, false],
    ],
  ],
];

describe('createOriginCheck', () => {
  for (const [group, cases] of rows) {
    describe(group, () => {
      for (const [allowlist, origin, host, allowed] of cases) {
        it(`${allowed ? 'allows' : 'refuses'} ${JSON.stringify(origin)} (host ${host ?? 'none'}, allowlist ${JSON.stringify(allowlist)})`, () => {
          assert.equal(createOriginCheck(allowlist)(origin, host), allowed);
        });
      }
    });
  }
});
