import { parseFlags, UsageError } from './args.js';

/** `barrage timeline --help`. */
export const TIMELINE_HELP = `Usage: barrage timeline seed ROOM [flags]

Fills a timeline room of a running server with a realistic spread of comments through its HTTP
API (POST /api/publish with t): a steady background over the video, bursts at a few "moments",
a wave at the start and the end, about 1 in 100 paid.

  --count <n>          comments to publish [default: 20000]
  --length-ms <ms>     video length [default: 600000]
  --url <url>          server base URL [default: http://127.0.0.1:8080] (BARRAGE_URL)
  --api-key <key>      API key (BARRAGE_API_KEY)
  --concurrency <n>    requests in flight [default: 32]
  --seed <n>           random seed, for a repeatable spread [default: 1]

Example:
  barrage timeline seed vod:demo --count 20000
`;

const WORDS = [
  '233333',
  'lol',
  'wow',
  'here it comes',
  'again!',
  'classic',
  'this part',
  '前方高能',
  'goosebumps',
  'nice',
  'first time watching',
  'who is here in 2026',
  'ahaha',
  'so good',
  'rewatching',
  'the music!',
  'wait what',
  'legend',
  '666',
  'hello from the replay',
];
const COLORS = [0xffffff, 0xffffff, 0xffffff, 0xfe0302, 0xffe133, 0x00cd00, 0x4266be, 0xcc0273];

/** A small seeded PRNG (mulberry32), so a seed gives the same spread. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The media time of the next seeded comment: background, moments, or the start/end waves. */
export function seededTime(random: () => number, lengthMs: number, moments: number[]): number {
  const pick = random();
  const gauss = () => (random() + random() + random() - 1.5) * 2; // about N(0, 1)
  let t: number;
  if (pick < 0.5) t = random() * lengthMs;
  else if (pick < 0.85) t = moments[Math.floor(random() * moments.length)]! + gauss() * 4000;
  else if (pick < 0.95) t = Math.abs(gauss()) * 20_000;
  else t = lengthMs - Math.abs(gauss()) * 15_000;
  return Math.min(lengthMs - 1, Math.max(0, Math.round(t)));
}

/** `barrage timeline seed ROOM`: resolves with the exit code. */
export async function timelineCommand(argv: string[]): Promise<number> {
  const [what, room, ...rest] = argv;
  if (what === '-h' || what === '--help' || what === undefined) {
    process.stdout.write(TIMELINE_HELP);
    return what === undefined ? 2 : 0;
  }
  if (what !== 'seed' || !room || room.startsWith('-')) {
    throw new UsageError('usage: barrage timeline seed ROOM [--count N]');
  }
  const v = parseFlags(rest, {
    count: { type: 'string' },
    'length-ms': { type: 'string' },
    url: { type: 'string' },
    'api-key': { type: 'string' },
    concurrency: { type: 'string' },
    seed: { type: 'string' },
  });
  const int = (name: string, fallback: number, max: number) => {
    const n = v[name] === undefined ? fallback : Number(v[name]);
    if (!Number.isInteger(n) || n < 1 || n > max)
      throw new UsageError(`--${name} must be an integer from 1 to ${max}`);
    return n;
  };
  const count = int('count', 20_000, 10_000_000);
  const lengthMs = int('length-ms', 600_000, 48 * 3_600_000);
  const concurrency = int('concurrency', 32, 1024);
  const random = prng(int('seed', 1, 2 ** 31));
  const base = String(v.url ?? process.env.BARRAGE_URL ?? 'http://127.0.0.1:8080').replace(
    /\/$/,
    '',
  );
  const key = (v['api-key'] as string | undefined) ?? process.env.BARRAGE_API_KEY;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  const moments = Array.from({ length: 6 }, () => random() * lengthMs);
  let next = 0;
  let failed = 0;
  let firstError = '';
  const started = Date.now();
  const worker = async () => {
    while (next < count) {
      next++;
      const paid = random() < 0.01;
      const body = {
        room,
        t: seededTime(random, lengthMs, moments),
        priority: paid ? 'paid' : 'normal',
        data: {
          text: WORDS[Math.floor(random() * WORDS.length)],
          color: COLORS[Math.floor(random() * COLORS.length)],
          type: random() < 0.9 ? 'right' : random() < 0.5 ? 'top' : 'bottom',
          author: `viewer${Math.floor(random() * 5000)}`,
        },
      };
      const res = await fetch(`${base}/api/publish`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) {
        failed++;
        firstError ||= `HTTP ${res.status}: ${text}`;
        if (res.status === 401 || res.status === 400) break;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (Date.now() - started) / 1000;
  process.stdout.write(
    `${room}: ${next - failed} comments seeded over ${lengthMs} ms of media in ${seconds.toFixed(1)} s${failed ? `, ${failed} failed (${firstError})` : ''}\n`,
  );
  return failed === 0 ? 0 : 1;
}
