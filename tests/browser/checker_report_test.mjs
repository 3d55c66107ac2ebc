#!/usr/bin/env node
// The happyDomain checker mode's HTML report (POST /report, issue #16) in a real browser, with
// and without a TLS checker's related `tls_probes` data. Debian's chromium (chromium.mjs) loads
// the document the checker answers, as a user sees it embedded in happyDomain.
//
//   node tests/browser/checker_report_test.mjs http://127.0.0.1:PORT ARTIFACT_DIR
//
// The checker (`smtp_exporter -listen`) must run over the lab: tests/integration/
// checker_report_browser_test.cc starts it. This script asks it what the happyDomain host asks:
// POST /collect for good.lab.test. and busy.lab.test. (a real observation and its tls.endpoint.v1
// entries), then POST /report with Accept: text/html, without `related` and with a related
// `tls_probes` list shaped as /work/shared/happydomain-api.md §5 and §7 give it (one
// RelatedObservation per entry of ours, `ref` = our entry's ref, `data` = the TLS checker's whole
// observation, `probes` keyed by ref). Chromium itself sends each POST (the navigation is
// re-issued as the POST by page.route), so the page is the checker's bytes and headers.
//
// What it checks, per page: 200 text/html; no console error, no page error, nothing fetched off
// the checker's origin; no sideways scrolling at a 375 px phone width.
//   - good.lab.test without TLS data: smtp.tls_quality says that no TLS data is available, once,
//     as INFO in "What to fix" (never a false OK or CRIT: no other severity for its codes
//     anywhere on the page), and no panel carries TLS checker notes;
//   - good.lab.test with TLS data (a WARN issue for mx-good): every mx-good panel shows the TLS
//     checker's notes (version, issuer, the issue), visible once the panel is opened; "What to
//     fix" lists the issue as WARN for mx-good; the no-TLS-data finding is gone; the page status
//     is WARN;
//   - busy.lab.test (MX 10 mx-greet421, MX 20 mx-minimal) with TLS data for mx-minimal only, and
//     an empty related item for mx-greet421: the notes are in the mx-minimal panels and in no
//     mx-greet421 panel; the probe's "no issue" is an OK finding for mx-minimal.
// Then negative controls: the same checks run on the checker's real pages broken one way at a
// time (the no-TLS-data finding painted OK, or removed; a CRIT TLS finding added; the notes moved
// to the wrong MX panel; a wide element; a blocked image that logs a console error), and each
// must fail with the matching check. This proves that the checks can fail on every run.
// Screenshots and the raw HTML of each page go to ARTIFACT_DIR.
//
// Exit codes: 0 all checks passed, 1 a check failed, 2 set-up problem, 3 the time limit was hit.
// Only loopback is contacted. Every wait is bounded.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHROMIUM, launchChromium, startBrowserTest } from './chromium.mjs';

const OVERALL_LIMIT_MS = 240_000;
const FETCH_TIMEOUT_MS = 60_000;  // /collect probes the lab
const PHONE_WIDTH = 375;
const TLS_CODES = ['smtp.tls.unavailable', 'smtp.tls.probe_issue'];
const GOOD = 'good.lab.test';
const BUSY = 'busy.lab.test';
const GOOD_MX = 'mx-good.lab.test';
const BUSY_MX_DOWN = 'mx-greet421.lab.test';
const BUSY_MX_UP = 'mx-minimal.lab.test';
// The TLS checker's probe of mx-good (checker-tls's historical field names, §7).
const GOOD_PROBE = {
  host: GOOD_MX, port: 25, tls_version: 'TLSv1.3', cipher_suite: 'TLS_AES_256_GCM_SHA384',
  chain_valid: true, hostname_match: true, not_after: '2026-12-09T00:00:00Z',
  issuer: 'Lab Test CA',
  issues: [{ severity: 'warning', code: 'cert_expiring', message: 'the certificate expires in 9 days' }],
};
const BUSY_PROBE = {
  host: BUSY_MX_UP, port: 25, tls_version: 'TLSv1.2', chain_valid: true, hostname_match: true,
  issuer: 'Lab Busy CA', issues: [],
};

const { origin: ORIGIN, artifactDir, setupError } =
  startBrowserTest('checker_report_test', OVERALL_LIMIT_MS);

// ---- results ---------------------------------------------------------------------------------
// A recorder collects the verdicts of one run of the checks: the real pages use `main`, each
// negative control a recorder of its own, which must hold the expected failure.
const show = (v) => JSON.stringify(v);
const norm = (s) => String(s ?? '').replace(/\s+/g, ' ').trim();
function recorder(quiet = false) {
  const r = { passes: 0, failures: [] };
  r.check = (ok, what, detail = '') => {
    if (ok) {
      r.passes++;
      if (!quiet) console.log(`PASS  ${what}`);
    } else {
      r.failures.push(`${what}${detail ? ` -- ${detail}` : ''}`);
      if (!quiet) console.log(`FAIL  ${what}${detail ? ` -- ${detail}` : ''}`);
    }
    return ok;
  };
  return r;
}
const main = recorder();

// ---- the checker's protocol --------------------------------------------------------------------
async function postJson(path, body) {
  const res = await fetch(new URL(path, ORIGIN), {
    method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' },
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST ${path}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

// The host's /collect (§4): trailing-dot domain, empty target, every rule enabled.
async function collect(domain) {
  const definition = await (await fetch(new URL('/definition', ORIGIN),
                                        { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) })).json();
  const enabledRules = Object.fromEntries(definition.rules.map((r) => [r.name, true]));
  return postJson('/collect', {
    key: 'smtp', target: {}, enabledRules,
    options: { domain: `${domain}.`, endpoint: ORIGIN, helo_name: 'probe.lab.test',
               test_null_sender: true, test_postmaster: true, test_open_relay: true, timeout: 8 },
  });
}

// One RelatedObservation per entry of ours that the TLS checker probed (§7): `data` is its whole
// observation, `probes` keyed by the refs it was fed.
function relatedTls(entries, probesByHost, emptyHosts = []) {
  const refOf = (host) => entries.find((e) => e.payload?.host === host)?.ref;
  const probes = {};
  for (const [host, probe] of Object.entries(probesByHost)) probes[refOf(host)] = probe;
  const items = Object.keys(probesByHost).map((host) => ({
    checkerId: 'checker-tls', key: 'tls_probes', ref: refOf(host),
    collectedAt: '2026-11-30T12:00:00Z', data: { probes },
  }));
  for (const host of emptyHosts) {
    items.push({ checkerId: 'checker-tls', key: 'tls_probes', ref: refOf(host),
                 collectedAt: '2026-11-30T12:00:00Z', data: { probes: {} } });
  }
  return { tls_probes: items };
}

// ---- the browser -------------------------------------------------------------------------------
const browser = await launchChromium(setupError);

// Loads the checker's HTML report of `body` in a new page of `width` px: Chromium navigates to
// /report and page.route turns that navigation into the POST the host sends (Accept: text/html).
// `mutate` (negative controls) rewrites the checker's answer before the browser sees it.
async function loadReport(body, { width = 1280, mutate = null } = {}) {
  const context = await browser.newContext({ viewport: { width, height: 900 }, serviceWorkers: 'block' });
  context.setDefaultTimeout(10_000);
  context.setDefaultNavigationTimeout(FETCH_TIMEOUT_MS);
  const loaded = { context, foreign: [], console: [], errors: [], html: '', status: 0, type: '' };
  const reportUrl = new URL('/report', ORIGIN).href;
  await context.route('**/*', async (route) => {
    const request = route.request();
    if (request.url() === reportUrl && request.isNavigationRequest()) {
      const response = await route.fetch({
        method: 'POST', postData: JSON.stringify(body),
        headers: { ...request.headers(), accept: 'text/html,application/xhtml+xml',
                   'content-type': 'application/json' },
        timeout: FETCH_TIMEOUT_MS,
      });
      loaded.status = response.status();
      loaded.type = response.headers()['content-type'] || '';
      loaded.html = await response.text();
      return route.fulfill({ response, body: mutate ? mutate(loaded.html) : loaded.html });
    }
    let sameOrigin = false;
    try {
      sameOrigin = new URL(request.url()).origin === ORIGIN;
    } catch { /* not a URL: foreign */ }
    if (sameOrigin) return route.continue();
    loaded.foreign.push(request.url());
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') loaded.console.push(m.text()); });
  page.on('pageerror', (e) => loaded.errors.push(e.message));
  await page.goto(reportUrl, { waitUntil: 'load' });
  await page.waitForTimeout(200);  // anything queued after 'load'
  loaded.page = page;
  return loaded;
}

// What the report shows about smtp.tls_quality and the TLS checker's notes.
async function readTls(page) {
  return page.evaluate((codes) => {
    const attr = (el, name) => (el ? el.getAttribute(name) : null);
    const findings = [...document.querySelectorAll('li.finding')]
      .filter((li) => codes.includes(attr(li, 'data-code')))
      .map((li) => ({
        code: attr(li, 'data-code'), severity: attr(li, 'data-severity'),
        where: li.closest('section#what-to-fix') ? 'what-to-fix'
          : li.closest('details#passed-checks') ? 'passed' : li.closest('details.endpoint') ? 'panel' : 'other',
        subject: (li.querySelector('.subject')?.textContent ?? '').trim(),
        text: li.textContent,
      }));
    const panels = [...document.querySelectorAll('section#endpoints details.endpoint')].map((d) => ({
      mx: attr(d, 'data-mx'), ip: attr(d, 'data-ip'),
      notes: [...d.querySelectorAll('section.mx-notes')].map((n) => ({
        source: attr(n, 'data-source'), title: n.querySelector('h3')?.textContent ?? '',
        rows: [...n.querySelectorAll('dt')].map((dt) => [dt.textContent, dt.nextElementSibling?.textContent ?? '']),
      })),
    }));
    const main = document.querySelector('main#report');
    return {
      domain: attr(main, 'data-domain'), status: attr(main, 'data-status'), findings, panels,
      strayNotes: document.querySelectorAll('section.mx-notes').length -
                  document.querySelectorAll('section#endpoints details.endpoint section.mx-notes').length,
    };
  }, TLS_CODES);
}

// The checks of every page: response, console, origin, phone width.
async function checkPage(r, label, loaded) {
  r.check(loaded.status === 200 && /^text\/html\b/.test(loaded.type), `${label}: 200 text/html`,
          `${loaded.status} ${loaded.type}`);
  r.check(loaded.errors.length === 0, `${label}: no page error`, show(loaded.errors));
  const consoleErrors = loaded.console.filter((t) => !/favicon\.ico/.test(t));
  r.check(consoleErrors.length === 0, `${label}: no console error`, show(consoleErrors));
  r.check(loaded.foreign.length === 0, `${label}: nothing fetched off ${ORIGIN}`, show(loaded.foreign));
  await loaded.page.setViewportSize({ width: PHONE_WIDTH, height: 800 });
  const widths = await loaded.page.evaluate(() => ({
    page: document.documentElement.scrollWidth, view: window.innerWidth }));
  r.check(widths.page <= widths.view + 1,
          `${label}: fits a ${PHONE_WIDTH} px wide phone screen (no sideways scrolling)`, show(widths));
}

// Without TLS data: one INFO "no TLS data available", nothing else from smtp.tls_quality.
function checkWithoutTls(r, label, t, domain) {
  r.check(t.domain === domain, `${label}: main#report is ${domain}`, show(t.domain));
  const unavailable = t.findings.filter((f) => f.code === 'smtp.tls.unavailable');
  r.check(unavailable.length === 1 && unavailable[0].severity === 'info' && unavailable[0].where === 'what-to-fix' &&
          /no TLS checker findings were given/.test(norm(unavailable[0].text)),
          `${label}: smtp.tls_quality says no TLS data is available (INFO, in What to fix)`, show(unavailable));
  const verdicts = t.findings.filter((f) => f.severity !== 'info' || f.code !== 'smtp.tls.unavailable');
  r.check(verdicts.length === 0, `${label}: no TLS verdict without TLS data (no false OK or CRIT)`,
          show(verdicts));
  r.check(t.status !== 'crit' && t.status !== 'error', `${label}: the page status is not CRIT`, show(t.status));
  const notes = t.panels.filter((p) => p.notes.length > 0);
  r.check(notes.length === 0 && t.strayNotes === 0, `${label}: no panel carries TLS checker notes`,
          show(notes.map((p) => `${p.mx} [${p.ip}]`)));
}

// The notes of a TLS checker probe in every panel of `mx`, and in no other panel.
function checkNotes(r, label, t, mx, expectRows) {
  const mine = t.panels.filter((p) => p.mx === mx);
  const others = t.panels.filter((p) => p.mx !== mx);
  r.check(mine.length > 0, `${label}: has endpoint panels for ${mx}`, show(t.panels.map((p) => p.mx)));
  const wrong = mine.filter((p) => {
    if (p.notes.length !== 1) return true;
    const [note] = p.notes;
    const rows = Object.fromEntries(note.rows.map(([k, v]) => [norm(k), norm(v)]));
    return note.source !== 'tls_probes' || !/^TLS checker \(checker-tls\)$/.test(norm(note.title)) ||
           Object.entries(expectRows).some(([k, v]) => !(rows[k] ?? '').includes(v));
  });
  r.check(wrong.length === 0, `${label}: every ${mx} panel shows the TLS checker's notes`,
          show(mine.map((p) => ({ ip: p.ip, notes: p.notes }))));
  const misplaced = others.filter((p) => p.notes.length > 0);
  r.check(misplaced.length === 0 && t.strayNotes === 0, `${label}: no other MX panel carries them`,
          show(misplaced.map((p) => `${p.mx} [${p.ip}]`)));
}

async function checkNotesVisible(r, label, page, mx) {
  const panel = page.locator(`section#endpoints details.endpoint[data-mx="${mx}"]`).first();
  if (!(await panel.evaluate((d) => d.open))) await panel.locator('summary').first().click();
  r.check(await panel.locator('section.mx-notes').isVisible(),
          `${label}: the ${mx} notes are visible once its panel is open`);
}

// ---- the pages ---------------------------------------------------------------------------------
async function screenshot(page, name) {
  await page.screenshot({ path: join(artifactDir, name), fullPage: true, timeout: 30_000 });
}

async function withoutTlsPage(r, observation, mutate = null) {
  const label = `${GOOD} without TLS data`;
  const loaded = await loadReport({ key: 'smtp', data: observation }, { mutate });
  const t = await readTls(loaded.page);
  checkWithoutTls(r, label, t, GOOD);
  if (!mutate) {
    writeFileSync(join(artifactDir, 'good-without-tls.html'), loaded.html);
    await screenshot(loaded.page, 'good-without-tls.png');
  }
  await checkPage(r, label, loaded);
  await loaded.context.close();
}

async function goodWithTlsPage(r, collected, mutate = null) {
  const label = `${GOOD} with TLS data`;
  const loaded = await loadReport({
    key: 'smtp', data: collected.data, related: relatedTls(collected.entries, { [GOOD_MX]: GOOD_PROBE }),
  }, { mutate });
  const t = await readTls(loaded.page);
  checkNotes(r, label, t, GOOD_MX, {
    TLS: 'TLSv1.3, TLS_AES_256_GCM_SHA384', Issuer: 'Lab Test CA', Chain: 'valid',
    WARN: '[cert_expiring] the certificate expires in 9 days',
  });
  const issues = t.findings.filter((f) => f.code === 'smtp.tls.probe_issue');
  r.check(issues.length === 1 && issues[0].severity === 'warn' && issues[0].where === 'what-to-fix' &&
          issues[0].subject.includes(GOOD_MX) && norm(issues[0].text).includes('the certificate expires in 9 days'),
          `${label}: What to fix lists the TLS checker's issue as WARN for ${GOOD_MX}`, show(issues));
  r.check(!t.findings.some((f) => f.code === 'smtp.tls.unavailable'),
          `${label}: no longer says that no TLS data is available`);
  r.check(t.status === 'warn', `${label}: the page status is WARN (the TLS issue folded in)`, show(t.status));
  await checkNotesVisible(r, label, loaded.page, GOOD_MX);
  if (!mutate) {
    writeFileSync(join(artifactDir, 'good-with-tls.html'), loaded.html);
    await screenshot(loaded.page, 'good-with-tls.png');
  }
  await checkPage(r, label, loaded);
  if (!mutate) await screenshot(loaded.page, 'good-with-tls-phone.png');
  await loaded.context.close();
}

async function busyWithTlsPage(r, collected, mutate = null) {
  const label = `${BUSY} with TLS data for ${BUSY_MX_UP} only`;
  const loaded = await loadReport({
    key: 'smtp', data: collected.data,
    related: relatedTls(collected.entries, { [BUSY_MX_UP]: BUSY_PROBE }, [BUSY_MX_DOWN]),
  }, { mutate });
  const t = await readTls(loaded.page);
  r.check(t.panels.some((p) => p.mx === BUSY_MX_DOWN), `${label}: has endpoint panels for ${BUSY_MX_DOWN}`,
          show(t.panels.map((p) => p.mx)));
  checkNotes(r, label, t, BUSY_MX_UP, { TLS: 'TLSv1.2', Issuer: 'Lab Busy CA', Issues: 'none reported' });
  const verdicts = t.findings.filter((f) => f.code === 'smtp.tls.probe_issue');
  r.check(verdicts.length === 1 && verdicts[0].severity === 'ok' && verdicts[0].subject.includes(BUSY_MX_UP),
          `${label}: the probe's "no issue" is one OK finding for ${BUSY_MX_UP}`, show(verdicts));
  if (!mutate) {
    writeFileSync(join(artifactDir, 'busy-with-tls.html'), loaded.html);
    await screenshot(loaded.page, 'busy-with-tls.png');
  }
  await checkPage(r, label, loaded);
  await loaded.context.close();
}

// ---- negative controls -------------------------------------------------------------------------
// Each breaks the checker's real page one way; the page's checks must then fail with `expect`.
function replaceOnce(html, from, to) {
  if (!html.includes(from)) throw new Error(`negative control: ${show(from)} is not in the page`);
  return html.replace(from, to);
}
// Moves the first TLS notes section into the first panel of `mx`.
function moveNotes(html, mx) {
  const start = html.indexOf('<section class="mx-notes"');
  const end = html.indexOf('</section>', start) + '</section>'.length;
  if (start < 0) throw new Error('negative control: no mx-notes section in the page');
  const notes = html.slice(start, end);
  const without = html.slice(0, start) + html.slice(end);
  const panel = without.indexOf(`data-mx="${mx}"`);
  const body = without.indexOf('<div class="body">', panel) + '<div class="body">'.length;
  return without.slice(0, body) + notes + without.slice(body);
}
const unavailableLi = /<li class="finding" data-code="smtp\.tls\.unavailable"[\s\S]*?<\/li>/;
const CONTROLS = [
  ['no-TLS-data finding painted OK', 'without', (h) => replaceOnce(h,
    'data-code="smtp.tls.unavailable" data-severity="info"', 'data-code="smtp.tls.unavailable" data-severity="ok"'),
   'says no TLS data is available'],
  ['no-TLS-data finding removed', 'without', (h) => h.replace(unavailableLi, ''), 'says no TLS data is available'],
  ['a CRIT TLS verdict without TLS data', 'without', (h) => replaceOnce(h, '<ol class="findings">',
    '<ol class="findings"><li class="finding" data-code="smtp.tls.probe_issue" data-severity="crit">x</li>'),
   'no TLS verdict without TLS data'],
  ['TLS notes in the wrong MX panel', 'busy', (h) => moveNotes(h, BUSY_MX_DOWN), 'no other MX panel carries them'],
  ['a 2000 px wide element', 'good', (h) => replaceOnce(h, '</main>', '<div style="width:2000px">x</div></main>'),
   'fits a 375 px wide phone screen'],
  ['an image the CSP blocks (console error)', 'good', (h) => replaceOnce(h, '</main>', '<img src="/blocked.png" alt=""></main>'),
   'no console error'],
];

// ---- run ---------------------------------------------------------------------------------------
let crashed = null;
try {
  console.log(`checker_report_test: chromium ${browser.version()} (${CHROMIUM}), checker ${ORIGIN}, artifacts ${artifactDir}`);
  const good = await collect(GOOD);
  const busy = await collect(BUSY);
  main.check(good.data?.domain === GOOD && Array.isArray(good.entries) &&
             good.entries.some((e) => e.payload?.host === GOOD_MX),
             `POST /collect ${GOOD}.: an observation and a tls.endpoint.v1 entry for ${GOOD_MX}`,
             show(good.entries));
  main.check(busy.data?.domain === BUSY && [BUSY_MX_DOWN, BUSY_MX_UP].every(
    (mx) => busy.entries?.some((e) => e.payload?.host === mx)),
             `POST /collect ${BUSY}.: entries for ${BUSY_MX_DOWN} and ${BUSY_MX_UP}`, show(busy.entries));
  await withoutTlsPage(main, good.data);
  await goodWithTlsPage(main, good);
  await busyWithTlsPage(main, busy);
  for (const [name, page, mutate, expect] of CONTROLS) {
    const r = recorder(true);
    if (page === 'without') await withoutTlsPage(r, good.data, mutate);
    if (page === 'good') await goodWithTlsPage(r, good, mutate);
    if (page === 'busy') await busyWithTlsPage(r, busy, mutate);
    main.check(r.failures.some((f) => f.includes(expect)),
               `negative control "${name}": the check "${expect}" fails`,
               `failures: ${show(r.failures)}`);
  }
} catch (e) {
  crashed = e;
} finally {
  await browser.close().catch(() => {});
}
if (crashed) main.check(false, 'the test itself stopped', crashed.stack || String(crashed));
console.log(`checker_report_test: ${main.passes} passed, ${main.failures.length} failed; artifacts in ${artifactDir}`);
if (main.failures.length) {
  console.log('checker_report_test: FAILED checks:');
  for (const f of main.failures) console.log(`  - ${f}`);
  process.exit(1);
}
process.exit(0);
