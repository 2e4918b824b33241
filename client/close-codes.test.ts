import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CLOSE, CLOSE_RANGES as SERVER_RANGES } from '../src/protocol/codes.js';
import { CLIENT_DROPPED, CLOSE_CODES, CLOSE_RANGES, closeReconnects } from './close-codes.js';

// The SDK ships alone, so it holds a copy of the server's close-code catalogue. These tests keep
// the copy, the catalogue and docs/errors.md in step.

interface DocRow {
  code: number;
  name: string;
  reconnect: boolean;
}

/** The rows of a markdown table that follows `heading` in `text`. */
function tableAfter(text: string, heading: string): string[][] {
  const at = text.indexOf(heading);
  assert.notEqual(at, -1, `docs/errors.md has no "${heading}"`);
  const rows: string[][] = [];
  for (const line of text.slice(at).split('\n').slice(1)) {
    if (!line.startsWith('|')) {
      if (rows.length > 0) break;
      continue;
    }
    rows.push(
      line
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim()),
    );
  }
  return rows.slice(2); // header and separator
}

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
const closeSection = doc.slice(doc.indexOf('## Close codes'));
const docCodes: DocRow[] = tableAfter(closeSection, '### Codes').map((cells) => ({
  code: Number(cells[0]),
  name: cells[1]!.replace(/`/g, '').replace(/^CLOSE\./, ''),
  reconnect: /^yes\b/.test(cells[3]!),
}));

describe('close codes: one catalogue for server, SDK and docs', () => {
  it('the SDK lists every server code by the same name, with the same answer', () => {
    const server = Object.entries(CLOSE).map(([name, s]) => [name, s.code, s.reconnect]);
    const client = Object.entries(CLOSE_CODES).map(([name, s]) => [name, s.code, s.reconnect]);
    assert.deepEqual(client, server);
  });

  it('the SDK uses the server ranges', () => {
    assert.deepEqual(CLOSE_RANGES, SERVER_RANGES);
  });

  it('every Barrage code lies in the range that gives its answer', () => {
    for (const { code, reconnect } of Object.values(CLOSE_CODES)) {
      const range = CLOSE_RANGES.find((r) => code >= r.from && code <= r.to);
      if (code >= 3000) assert.equal(range?.reconnect, reconnect, `code ${code}`);
    }
    assert.equal(closeReconnects(CLIENT_DROPPED), true);
  });

  it('decides unknown codes by range: 4000-4499 and 3000-3499 reconnect, 4500+ and 3500+ do not', () => {
    assert.deepEqual(
      [4100, 4499, 4500, 4999, 3000, 3499, 3500, 3999, 1006, 1012].map(closeReconnects),
      [true, true, false, false, true, true, false, false, true, true],
    );
  });

  it('docs/errors.md lists every code of the catalogue, with its name and answer', () => {
    for (const [name, spec] of Object.entries(CLOSE)) {
      const row = docCodes.find((r) => r.code === spec.code);
      assert.ok(row, `docs/errors.md has no row for ${spec.code} (${name})`);
      assert.equal(row.name, name, `the name of ${spec.code}`);
      assert.equal(row.reconnect, spec.reconnect, `the reconnect column of ${spec.code}`);
    }
  });

  it('docs/errors.md names only catalogue codes, and its answer is the SDK answer', () => {
    for (const row of docCodes) {
      if (row.name !== '') assert.ok(row.name in CLOSE, `${row.name} is not in CLOSE`);
      assert.equal(closeReconnects(row.code), row.reconnect, `code ${row.code}`);
    }
    assert.ok(
      docCodes.some((r) => r.code === CLIENT_DROPPED),
      'the SDK code 4000 is documented',
    );
  });

  it('docs/errors.md gives the ranges of the catalogue', () => {
    const ranges = tableAfter(closeSection, '### Ranges').map((cells) => {
      const [from, to] = cells[0]!.split('–').map(Number);
      return { from, to, reconnect: cells[1] === 'yes' };
    });
    assert.deepEqual(ranges, SERVER_RANGES);
  });
});
