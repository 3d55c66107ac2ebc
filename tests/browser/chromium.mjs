// How the browser tests start (report_test.mjs, checker_report_test.mjs): their two arguments
// (a loopback http server, an artifact directory), their overall time limit, and Debian's
// chromium under playwright-core: the pinned playwright-core of tests/node (never a downloaded
// browser), headless, no proxy (the browser talks to the loopback server directly), no
// background traffic, a fresh temporary profile that Playwright deletes on close. A missing
// browser or package, or a bad argument, is a set-up error (exit 2) with a way out; the time
// limit exits 3. SMTPX_CHROMIUM overrides /usr/bin/chromium.
import { createRequire } from 'node:module';
import { existsSync, mkdirSync } from 'node:fs';

export const CHROMIUM = process.env.SMTPX_CHROMIUM || '/usr/bin/chromium';
export const HINT = 'run `scripts/dev.sh deps` (Debian chromium + npm ci in tests/node)';

// Starts the browser; calls setupError(message) (which must not return) when it cannot.
export async function launchChromium(setupError) {
  if (!existsSync(CHROMIUM)) {
    setupError(`${CHROMIUM} is missing: ${HINT}`);
  }
  let chromium;
  try {
    const require = createRequire(new URL('../node/package.json', import.meta.url));
    ({ chromium } = require('playwright-core'));
  } catch (e) {
    setupError(`cannot load playwright-core from tests/node/node_modules (${e.message}): ${HINT}`);
  }
  const env = Object.fromEntries(Object.entries(process.env)
    .filter(([k]) => !/^(https?|ftp|all|no)_proxy$/i.test(k)));
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--no-proxy-server'],
    env,
    timeout: 60_000,
  }).catch((e) => setupError(`cannot start ${CHROMIUM}: ${e.message}`));
}

// Reads `node tests/browser/<name>.mjs http://127.0.0.1:PORT ARTIFACT_DIR`, creates the
// directory and arms the time limit. Returns { origin, artifactDir, setupError }.
export function startBrowserTest(name, limitMs) {
  const setupError = (message) => {
    console.error(`${name}: SETUP ERROR: ${message}`);
    process.exit(2);
  };
  const [baseArg, artifactDir] = process.argv.slice(2);
  if (!baseArg || !artifactDir) {
    setupError(`usage: node tests/browser/${name}.mjs http://127.0.0.1:PORT ARTIFACT_DIR`);
  }
  let base;
  try {
    base = new URL(baseArg);
  } catch {
    setupError(`not a URL: ${baseArg}`);
  }
  const host = base.hostname.replace(/^\[|\]$/g, '');
  if (base.protocol !== 'http:' || !(/^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1' ||
                                     host === 'localhost')) {
    setupError(`the server must be on loopback http (127.0.0.0/8 or ::1), got ${baseArg}`);
  }
  mkdirSync(artifactDir, { recursive: true });
  const watchdog = setTimeout(() => {
    console.error(`${name}: FAIL: overall time limit of ${limitMs / 1000} s exceeded`);
    process.exit(3);
  }, limitMs);
  watchdog.unref();
  return { origin: base.origin, artifactDir, setupError };
}
