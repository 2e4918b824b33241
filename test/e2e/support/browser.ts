/**
 * Browser test support: real Chromium through playwright-core, the compiled SDK the server serves
 * at /sdk/, and a folder for screenshots.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';

/** The repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** Where tests save screenshots (gitignored). */
export const ARTIFACTS = join(ROOT, 'test-results');

/** Launches headless Chromium from /usr/bin/chromium with the flags CI needs. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/**
 * Makes sure dist/client/ holds the SDK compiled from the current client/ sources (the server
 * serves it at /sdk/). `npm test` builds first; when run alone, a stale SDK is compiled here
 * with the project's tsc (client files only, so it takes a couple of seconds).
 */
export function ensureSdkBuilt(): void {
  const src = join(ROOT, 'client');
  const sources = readdirSync(src).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  const built = join(ROOT, 'dist', 'client', 'index.js');
  const builtAt = existsSync(built) ? statSync(built).mtimeMs : 0;
  const stale = sources.some((f) => {
    const out = join(ROOT, 'dist', 'client', f.replace(/\.ts$/, '.js'));
    return !existsSync(out) || statSync(join(src, f)).mtimeMs > statSync(out).mtimeMs;
  });
  if (builtAt > 0 && !stale) return;
  // Compile into a private folder, then move each file into place (a rename is atomic), so
  // test files that start together never serve a half-written SDK.
  const out = join(ROOT, 'dist', 'client');
  const tmp = join(ROOT, 'dist', `.client-${process.pid}`);
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const options = '--module NodeNext --moduleResolution NodeNext --target ES2022 --lib ES2023,DOM';
  execFileSync(
    process.execPath,
    [
      tsc,
      ...sources.map((f) => join(src, f)),
      ...['--outDir', tmp, '--rootDir', src],
      ...options.split(' '),
      ...['--declaration', '--sourceMap', '--strict', '--skipLibCheck', '--types', 'node'],
    ],
    { stdio: 'inherit', timeout: 60_000 },
  );
  mkdirSync(out, { recursive: true });
  for (const f of readdirSync(tmp)) renameSync(join(tmp, f), join(out, f));
  rmSync(tmp, { recursive: true, force: true });
}

/** Saves a screenshot of `page` as test-results/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** Collects page errors and console errors, so a test can assert there were none. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  return errors;
}

/**
 * Records the Content-Security-Policy violations a page reports (its `securitypolicyviolation`
 * events, from the first script on), for every page loaded in `page` after this call.
 */
export async function watchCsp(page: Page): Promise<() => Promise<string[]>> {
  await page.addInitScript(() => {
    const w = window as unknown as { cspViolations: string[] };
    w.cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      w.cspViolations.push(`${e.effectiveDirective} ${e.blockedURI}`);
    });
  });
  return () =>
    page.evaluate(() => (window as unknown as { cspViolations?: string[] }).cspViolations ?? []);
}

/** The protective headers every page Barrage serves must carry (src/api/page-headers.ts). */
export function assertPageHeaders(headers: Record<string, string>, what: string): void {
  const csp = headers['content-security-policy'] ?? '';
  for (const directive of ["script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"]) {
    if (!csp.includes(directive)) throw new Error(`${what}: CSP lacks ${directive}: ${csp}`);
  }
  if (/unsafe-inline|unsafe-eval/.test(csp)) throw new Error(`${what}: CSP is not strict: ${csp}`);
  if (headers['x-frame-options'] !== 'DENY') throw new Error(`${what}: no X-Frame-Options DENY`);
  if (headers['x-content-type-options'] !== 'nosniff') throw new Error(`${what}: no nosniff`);
}
