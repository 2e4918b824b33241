/**
 * Micro-benchmark of the alert inbox's stored push (`putAlert`): CPU per put (every thread of the
 * process: the embedded store's database thread included) to users with a few alerts each and to
 * users whose inbox is at the cap, where every put also trims one, and acks (`markRead` of one
 * alert). Migration 9 made the second case a few index lookups more than the first instead of a
 * scan and sort of the inbox.
 * PostgreSQL too when BARRAGE_BENCH_DATABASE_URL names a scratch database (it writes rows; the
 * server's CPU is not counted, so compare puts per second there).
 * Run: `npm run bench:micro -- inbox` (or `node --import tsx src/store/inbox.bench.ts`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measure, print, type Result } from '../../bench/micro/timing.js';
import { newAlert } from '../../test/support/new-alert.js';
import type { AlertInbox } from './inbox.js';
import { PostgresStore } from './postgres/store.js';
import { SqliteStore } from './sqlite/store.js';
import type { Store } from './types.js';

const CAP = 1000;
const FULL_USERS = 200;
const SMALL_USERS = 5000;
/** Puts in flight at once, as a busy node has them. */
const IN_FLIGHT = 200;
const OPS = 2000;
/** Unread alerts stored for the ack case, more than its rounds take. */
const ACKABLE = 60_000;

let next = 0;
const tag = Date.now().toString(36);

function put(store: AlertInbox, userId: string): Promise<unknown> {
  const data = '{"text":"your order shipped"}';
  const alert = newAlert(userId, `${tag}-${next++}`, Date.now(), { event: 'bench', data });
  return store.putAlert(alert, CAP);
}

/** `count` puts spread over `users`, IN_FLIGHT at a time. */
async function puts(store: AlertInbox, users: readonly string[], count: number): Promise<void> {
  for (let done = 0; done < count; done += IN_FLIGHT) {
    const wave: Promise<unknown>[] = [];
    for (let i = done; i < Math.min(count, done + IN_FLIGHT); i++) {
      wave.push(put(store, users[i % users.length]!));
    }
    await Promise.all(wave);
  }
}

async function bench(name: string, store: Store & AlertInbox): Promise<Result[]> {
  await store.start();
  try {
    const prefix = `${tag}-${name}`;
    const full = Array.from({ length: FULL_USERS }, (_, i) => `${prefix}-full-${i}`);
    const small = Array.from({ length: SMALL_USERS }, (_, i) => `${prefix}-small-${i}`);
    await puts(store, full, FULL_USERS * CAP);
    const results: Result[] = [];
    for (const [label, users] of [
      [`${name}: put, ${SMALL_USERS} users with a few alerts`, small],
      [`${name}: put, ${FULL_USERS} users at the cap (${CAP})`, full],
    ] as const) {
      const t0 = performance.now();
      let done = 0;
      const result = await measure(label, OPS, async () => {
        await puts(store, users, OPS);
        done += OPS;
      });
      const perSecond = (done / (performance.now() - t0)) * 1000;
      results.push({ ...result, name: `${label}, ${Math.round(perSecond)} puts/s` });
    }
    // Acks: one unread alert marked read a call, as a device acknowledges what it showed.
    const unread: { userId: string; alert: string }[] = [];
    for (let i = 0; i < ACKABLE; i++)
      unread.push({ userId: small[i % SMALL_USERS]!, alert: `${tag}-${next + i}` });
    await puts(store, small, ACKABLE);
    const t0 = performance.now();
    let acked = 0;
    const label = `${name}: ack, one unread alert a call`;
    const result = await measure(label, OPS, async () => {
      for (let done = 0; done < OPS; done += IN_FLIGHT) {
        const wave = unread.splice(0, IN_FLIGHT);
        if (wave.length < IN_FLIGHT) throw new Error(`fewer than ${ACKABLE} acks were enough`);
        await Promise.all(wave.map((a) => store.markRead(a.userId, [a.alert], Date.now())));
      }
      acked += OPS;
    });
    const perSecond = (acked / (performance.now() - t0)) * 1000;
    results.push({ ...result, name: `${label}, ${Math.round(perSecond)} acks/s` });
    return results;
  } finally {
    await store.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'barrage-inbox-bench-'));
try {
  const results = await bench('embedded', new SqliteStore(dir));
  const url = process.env.BARRAGE_BENCH_DATABASE_URL;
  if (url) results.push(...(await bench('postgres', new PostgresStore({ url }))));
  print('alert inbox, CPU per stored push (this process, all threads)', results);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
