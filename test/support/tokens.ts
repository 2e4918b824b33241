import { SignJWT } from 'jose';

/** The HS256 secret test servers are started with. */
export const TEST_SECRET = 'test-secret-that-is-long-enough-0123456789';

/** Signs an HS256 token for `sub` with extra claims; `expiresIn` like '1h' or seconds from now. */
export async function signToken(
  sub: string,
  claims: Record<string, unknown> = {},
  options: { secret?: string; expiresIn?: string | number; notBefore?: number } = {},
): Promise<string> {
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt();
  jwt = jwt.setExpirationTime(options.expiresIn ?? '1h');
  if (options.notBefore !== undefined) jwt = jwt.setNotBefore(options.notBefore);
  return jwt.sign(new TextEncoder().encode(options.secret ?? TEST_SECRET));
}
