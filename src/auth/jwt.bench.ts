/**
 * Micro-benchmark of token verification, the CPU a connection's `auth` (or its upgrade's token)
 * costs before anything else: HS256, RS256 and ES256 through `createJwtVerifier`, 100 tokens in
 * flight at a time as a reconnect storm has them. CPU per verified token.
 * Run: `npm run bench:micro -- jwt` (or `node --import tsx src/auth/jwt.bench.ts`).
 */
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { measure, print, type Result } from '../../bench/micro/timing.js';
import { createJwtVerifier, type JwtOptions } from './jwt.js';

const OPS = 2000;
const IN_FLIGHT = 100;
const SECRET = 'micro-bench-secret-0123456789abcdef0123456789';

async function bench(name: string, options: JwtOptions, token: string): Promise<Result> {
  const verify = createJwtVerifier(options);
  return measure(name, OPS, async () => {
    for (let done = 0; done < OPS; done += IN_FLIGHT) {
      const wave = Array.from({ length: IN_FLIGHT }, () => verify(token));
      for (const identity of await Promise.all(wave)) {
        if (identity?.userId !== 'u1') throw new Error('a token was refused');
      }
    }
  });
}

const claims = () => new SignJWT({ sub: 'u1' }).setExpirationTime('1h');
const results: Result[] = [];
const secretToken = await claims()
  .setProtectedHeader({ alg: 'HS256' })
  .sign(new TextEncoder().encode(SECRET));
results.push(await bench('HS256 (shared secret)', { secret: SECRET }, secretToken));
for (const [alg, pair] of [
  ['RS256', generateKeyPairSync('rsa', { modulusLength: 2048 })],
  ['ES256', generateKeyPairSync('ec', { namedCurve: 'P-256' })],
] as const) {
  const token = await claims().setProtectedHeader({ alg }).sign(pair.privateKey);
  const pem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  results.push(await bench(`${alg} (public key)`, { publicKeyPem: pem }, token));
}
print('token verification, CPU per token', results);
