/**
 * Remembers, per keep-alive connection, the `Authorization` text that last passed an API-key
 * check, so a backend's later calls on the same connection skip the check's SHA-256.
 *
 * The remembered text contains the key itself (`Bearer <key>`), and one connection can carry
 * requests from different callers (a reverse proxy or API gateway pools its upstream
 * connections), so the comparison with it must not exit at the first differing character: it is
 * done by `equalsSecretText`, whose time depends on the presented text's length only; any
 * mismatch (of content or length) then runs the full hashed check, so a wrong header costs the
 * same whatever it shares with the key. (JavaScript gives no hard constant-time guarantee; what
 * this rules out is a data-dependent early exit.)
 */
export function createConnectionKeyCheck(
  keyCheck: (authorization: string | undefined) => boolean,
): (authorization: string | undefined, connection: object | undefined) => boolean {
  const accepted = new WeakMap<object, string>();
  return (authorization, connection) => {
    if (authorization === undefined || !connection) return keyCheck(authorization);
    const known = accepted.get(connection);
    if (known !== undefined && equalsSecretText(authorization, known)) return true;
    const ok = keyCheck(authorization);
    if (ok) accepted.set(connection, authorization);
    return ok;
  };
}

/**
 * Whether `presented` equals `secret`, in a time that depends on `presented.length` only: every
 * character of `presented` is compared (against `secret` cycled), differences are accumulated
 * with XOR/OR and a length mismatch is folded in, with no early exit.
 */
export function equalsSecretText(presented: string, secret: string): boolean {
  const secretLength = secret.length;
  if (secretLength === 0) return presented.length === 0;
  let difference = presented.length ^ secretLength;
  for (let i = 0; i < presented.length; i++) {
    difference |= presented.charCodeAt(i) ^ secret.charCodeAt(i % secretLength);
  }
  return difference === 0;
}
