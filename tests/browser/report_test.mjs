#!/usr/bin/env node
// Real-browser tests of the HTML report (issue #7): Debian's chromium, driven by playwright-core
// (tests/node, pinned by its lock file; never a downloaded browser), loads the pages a running
// smtp_exporter daemon serves over the lab and checks the DOM contract written down in
// exporter/report/html_report.h.
//
//   node tests/browser/report_test.mjs http://127.0.0.1:PORT ARTIFACT_DIR
//
// The daemon must already have a report for good.lab.test, relay.lab.test and hostile.lab.test
// (tests/integration/report_browser_test.cc starts it over the lab and waits for that).
//
// What it checks, per page (every check prints PASS or FAIL; exit 1 if any failed):
//   - every HTML page: 200, text/html, a Content-Security-Policy that forbids scripts and every
//     external fetch; the page itself causes no CSP violation, no console error, no page error,
//     and requests nothing but the daemon's own origin (page.route aborts anything else and the
//     check fails); no <script>, no on* attribute, no javascript: link in the DOM;
//   - every page is loaded twice: with the CSP enforced (the checks and screenshots) and with
//     the CSP bypassed, so that the no-script and no-external-fetch checks prove the markup
//     itself is safe, not only that the CSP caught it;
//   - relay.lab.test: main#report status crit and equal to the JSON's; "What to fix" lists
//     exactly the JSON's non-OK findings (code, severity, message, fix, RFC), worst first, and
//     contains smtp.open_relay; it precedes the endpoint panels; the 127.0.0.5 panel is open and
//     its summary shows a visible red OPEN RELAY badge; every panel is open iff its status is
//     warn, crit or error; passed checks are collapsed and list the JSON's OK findings;
//     the page fits a phone's width and has a dark colour scheme;
//   - good.lab.test: status ok, "all clear", every endpoint panel closed, no OPEN RELAY badge;
//   - hostile.lab.test (tests/lab/responder.py, 127.0.0.16, puts <script>alert(1)</script>,
//     "><img src=x onerror=alert(2)>, X-<b>BOLD</b> and <script>alert(3)</script> in its banner,
//     EHLO and RCPT replies): no script ran (no dialog, no call of alert/confirm/prompt, no CSP
//     violation), no injected element exists, and pre.banner / the panel show the payloads as
//     literal text;
//   - every report: section#history draws the domain's checks as titled cells, the last one of
//     the report's status, with a "since" line; the header links to the overview filtered on
//     the report's status, each What-to-fix item to the overview filtered on its code;
//   - index (/, the overview): table#domains lists the three domains worst first, each with its
//     JSON status; each row names exactly the JSON's active findings (one li.problem per code
//     and severity) by their short title (read from docs/findings.md, which the catalog
//     generates) and subject, or "on N of M endpoints" when several endpoints share one; each
//     row has a history strip of titled cells, the newest of the row's status, and a "since"
//     line; section#problems has one line per active code with the number of domains having
//     it; following its links (a code, a status) and loading ?q= shows exactly the domains the
//     JSON says match, says which filter is active, and a.clear leads back to every domain;
//     a hostile ?q= is shown as text; a bad ?status= or an overlong ?q= answers 400; the page
//     fits a phone's width and has a dark colour scheme;
//   - &format=json and &format=text answer JSON and plain text.
// A report, and the overview, is compared with the JSON of the same check (loaded again if a
// re-check landed in between). Screenshots (full page: relay, relay-phone, relay-dark, good,
// hostile, hostile-expanded, index, index-phone, index-dark, index-filtered) and the raw HTML of
// each page go to ARTIFACT_DIR.
// tests/browser/selftest.mjs runs this script against broken hand-written pages to show that
// each kind of check can fail. SMTPX_CHROMIUM overrides /usr/bin/chromium.
//
// Exit codes: 0 all checks passed, 1 a check failed, 2 set-up problem (missing chromium or
// node_modules, bad arguments), 3 the overall time limit was hit.
// Only loopback is contacted. Every wait is bounded.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHROMIUM, launchChromium, startBrowserTest } from './chromium.mjs';

const OVERALL_LIMIT_MS = 240_000;
const NAV_TIMEOUT_MS = 20_000;
const ACTION_TIMEOUT_MS = 10_000;
const FETCH_TIMEOUT_MS = 10_000;

const GOOD = 'good.lab.test';
const RELAY = 'relay.lab.test';
const HOSTILE = 'hostile.lab.test';
const RELAY_IP = '127.0.0.5';
const RELAY_MX = 'mx-relay.lab.test';
const HOSTILE_IP = '127.0.0.16';
// tests/lab/responder.py, scenario_hostile.
const BANNER_PAYLOAD = '<script>alert(1)</script> "><img src=x onerror=alert(2)>';
const EHLO_PAYLOAD = 'X-<b>BOLD</b>';
const RCPT_PAYLOAD = '<script>alert(3)</script>';

const RANK = { ok: 0, info: 1, warn: 2, crit: 3, error: 4 };
const DOMAINS = [GOOD, RELAY, HOSTILE];

// The overview names findings by the catalog's short titles; docs/findings.md, generated from
// the catalog (and compared with it by the unit tests), lists them per code.
const SHORT_TITLES = (() => {
  const titles = {};
  let text = '';
  try {
    text = readFileSync(new URL('../../docs/findings.md', import.meta.url), 'utf8');
  } catch { /* reported below */ }
  let code = null;
  for (const line of text.split('\n')) {
    // Each code's section opens with "### Code `smtp.open_relay`" (under its rule's "## Rule").
    const heading = /^### Code `([^`]+)`/.exec(line);
    if (heading) code = heading[1];
    const title = /^- \*\*On the overview page:\*\* (.+)$/.exec(line);
    if (title && code) titles[code] = title[1].trim();
  }
  return titles;
})();
const OPEN_STATUSES = new Set(['warn', 'crit', 'error']);

const { origin: ORIGIN, artifactDir, setupError } =
  startBrowserTest('report_test', OVERALL_LIMIT_MS);

// ---- results ---------------------------------------------------------------------------------
const failures = [];
let passes = 0;
function check(ok, what, detail = '') {
  if (ok) {
    passes++;
    console.log(`PASS  ${what}`);
  } else {
    failures.push(`${what}${detail ? ` -- ${detail}` : ''}`);
    console.log(`FAIL  ${what}${detail ? ` -- ${detail}` : ''}`);
  }
  return ok;
}
const norm = (s) => String(s ?? '').replace(/\s+/g, ' ').trim();
const show = (v) => JSON.stringify(v);

function reportUrl(domain, format) {
  const u = new URL('/report', ORIGIN);
  u.searchParams.set('domain', domain);
  if (format) u.searchParams.set('format', format);
  return u.href;
}

async function fetchBounded(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'manual' });
  return { status: res.status, type: res.headers.get('content-type') || '', body: await res.text() };
}

// The domain's JSON report; `quiet` leaves out the PASS line (repeated fetches).
async function fetchJson(domain, quiet = false) {
  const r = await fetchBounded(reportUrl(domain, 'json'));
  const good = r.status === 200 && r.type.startsWith('application/json');
  if (!quiet || !good) {
    check(good, `${domain}: &format=json answers 200 application/json`, `${r.status} ${r.type}`);
  }
  try {
    return JSON.parse(r.body);
  } catch (e) {
    check(false, `${domain}: &format=json is valid JSON`, e.message);
    return { status: undefined, findings: [] };
  }
}

// ---- the CSP header --------------------------------------------------------------------------
function checkCsp(label, header) {
  if (!check(Boolean(header), `${label}: served with a Content-Security-Policy header`)) return;
  const directives = new Map();
  for (const part of header.split(';')) {
    const tokens = part.trim().split(/\s+/).filter(Boolean);
    if (tokens.length) directives.set(tokens[0].toLowerCase(), tokens.slice(1).map((t) => t.toLowerCase()));
  }
  check(show(directives.get('default-src')) === show(["'none'"]),
        `${label}: CSP default-src 'none'`, header);
  const problems = [];
  for (const [name, tokens] of directives) {
    if (name.startsWith('script-src') && show(tokens) !== show(["'none'"])) {
      problems.push(`${name} allows scripts`);
    }
    for (const t of tokens) {
      const allowed = t === "'none'" ||
                      (t === "'unsafe-inline'" && name.startsWith('style-src')) ||
                      (t === 'data:' && ['img-src', 'font-src', 'media-src'].includes(name)) ||
                      (t === "'self'" && !name.startsWith('script-src'));
      if (!allowed) problems.push(`${name} ${t}`);
    }
  }
  check(problems.length === 0, `${label}: CSP allows no script and no external source`,
        `${problems.join(', ')} in: ${header}`);
}

// ---- browser set-up --------------------------------------------------------------------------
// In every page, before its own content: record calls of the dialog functions (what the lab's
// payloads call) and CSP violations (what an injected element would cause under the CSP).
const INIT_SCRIPT = `(() => {
  window.__smtpxCalls = [];
  window.__smtpxViolations = [];
  for (const name of ['alert', 'confirm', 'prompt', 'print']) {
    const original = window[name];
    window[name] = function (...args) {
      window.__smtpxCalls.push(name + '(' + args.map(String).join(',') + ')');
      return original.apply(this, args);
    };
  }
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__smtpxViolations.push(e.effectiveDirective + ' ' + (e.blockedURI || '') + ' ' +
                                  (e.sample || ''));
  }, true);
})();`;

const browser = await launchChromium(setupError);

// Per context: every request it made that is not for the daemon (aborted), every dialog.
async function newContext(options) {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    serviceWorkers: 'block',
    ...options,
  });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(NAV_TIMEOUT_MS);
  context.foreign = [];
  context.dialogs = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    let sameOrigin = false;
    try {
      sameOrigin = new URL(url).origin === ORIGIN;
    } catch { /* not a URL: foreign */ }
    if (sameOrigin) return route.continue();
    context.foreign.push(url);
    return route.abort('blockedbyclient');
  });
  context.on('page', (page) => {
    page.on('dialog', (d) => {
      context.dialogs.push(`${d.type()}: ${d.message()}`);
      d.dismiss().catch(() => {});
    });
  });
  await context.addInitScript({ content: INIT_SCRIPT });
  return context;
}

// Loads url in a new page of context; returns the page, the response and what went wrong.
async function open(context, url) {
  const page = await context.newPage();
  const console_ = [];
  const errors = [];
  const websockets = [];
  page.on('console', (m) => { if (m.type() === 'error') console_.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('websocket', (w) => websockets.push(w.url()));
  const response = await page.goto(url, { waitUntil: 'load' });
  // 'load' waited for every image (an injected img's onerror has fired by then); give
  // anything queued after it a moment.
  await page.waitForTimeout(200);
  return { page, response, console_, errors, websockets };
}

// The safety checks every HTML page passes, in either context.
async function checkSafety(label, context, loaded) {
  const { page } = loaded;
  const state = await page.evaluate(() => ({
    calls: window.__smtpxCalls || ['(init script missing)'],
    violations: window.__smtpxViolations || [],
    scripts: document.querySelectorAll('script').length,
    handlers: [...document.querySelectorAll('*')].flatMap((el) =>
      [...el.attributes].filter((a) => /^on/i.test(a.name)).map((a) => `<${el.localName} ${a.name}>`)),
    jsLinks: [...document.querySelectorAll('[href],[src],[action],[formaction]')].filter((el) =>
      ['href', 'src', 'action', 'formaction'].some((a) =>
        /^\s*javascript:/i.test(el.getAttribute(a) || ''))).length,
    embeds: document.querySelectorAll('iframe,frame,object,embed,base,meta[http-equiv="refresh" i]').length,
  }));
  check(state.calls.length === 0 && context.dialogs.length === 0, `${label}: no script ran`,
        `calls ${show(state.calls)}, dialogs ${show(context.dialogs)}`);
  check(state.scripts === 0 && state.handlers.length === 0 && state.jsLinks === 0,
        `${label}: no <script>, no on* attribute, no javascript: URL in the DOM`,
        `${state.scripts} script(s), handlers ${show(state.handlers.slice(0, 10))}, ` +
        `${state.jsLinks} javascript: URL(s)`);
  check(state.embeds === 0, `${label}: no iframe/object/embed/base/meta refresh`, `${state.embeds}`);
  check(state.violations.length === 0, `${label}: no CSP violation`, show(state.violations));
  check(loaded.errors.length === 0, `${label}: no page error`, show(loaded.errors));
  const consoleErrors = loaded.console_.filter((t) => !/favicon\.ico/.test(t));
  check(consoleErrors.length === 0, `${label}: no console error`, show(consoleErrors));
  check(context.foreign.length === 0 && loaded.websockets.length === 0,
        `${label}: nothing fetched but ${ORIGIN}`,
        show([...context.foreign, ...loaded.websockets]));
}

async function checkHtmlResponse(label, loaded) {
  const { response } = loaded;
  const headers = response ? await response.allHeaders() : {};
  check(response && response.status() === 200 && /^text\/html\b/.test(headers['content-type'] || ''),
        `${label}: 200 text/html`, `${response?.status()} ${headers['content-type']}`);
  checkCsp(label, headers['content-security-policy']);
  return response ? await response.text() : '';
}

async function screenshot(page, name) {
  const path = join(artifactDir, name);
  await page.screenshot({ path, fullPage: true, timeout: 30_000 });
  console.log(`      screenshot ${path}`);
}

// ---- the report page ---------------------------------------------------------------------------
// Everything the contract says about one report page, compared with the domain's JSON.
async function readReport(page) {
  return page.evaluate(() => {
    const attr = (el, name) => (el ? el.getAttribute(name) : null);
    const text = (el) => (el ? el.textContent : '');
    const main = document.querySelector('main#report');
    const fix = document.querySelector('section#what-to-fix');
    const endpoints = document.querySelector('section#endpoints');
    const passed = document.querySelector('details#passed-checks');
    const order = (a, b) => Boolean(a && b && (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING));
    return {
      main: main ? { domain: attr(main, 'data-domain'), status: attr(main, 'data-status') } : null,
      hasFix: Boolean(fix),
      hasDns: Boolean(document.querySelector('section#dns')),
      hasEndpoints: Boolean(endpoints),
      fixFirst: order(fix, endpoints),
      fixItems: [...document.querySelectorAll('section#what-to-fix ol > li.finding')].map((li) => ({
        code: attr(li, 'data-code'), severity: attr(li, 'data-severity'), text: text(li),
      })),
      strayFixItems: document.querySelectorAll('section#what-to-fix li.finding').length -
                     document.querySelectorAll('section#what-to-fix ol > li.finding').length,
      allClear: Boolean(document.querySelector('section#what-to-fix p.all-clear')),
      endpoints: [...document.querySelectorAll('section#endpoints details.endpoint')].map((d) => ({
        ip: attr(d, 'data-ip'), mx: attr(d, 'data-mx'), status: attr(d, 'data-status'),
        open: d.open,
        badges: [...d.querySelectorAll(':scope > summary .badge')].map((b) => ({
          badge: attr(b, 'data-badge'), cls: b.className, text: b.textContent.trim(),
        })),
        banner: [...d.querySelectorAll('pre.banner')].map(text),
        transcript: [...d.querySelectorAll('pre.transcript')].map(text),
        text: text(d),
      })),
      openRelayBadges: document.querySelectorAll('[data-badge="open-relay"]').length,
      history: (() => {
        const section = document.querySelector('section#history');
        if (!section) return null;
        const strip = section.querySelector('div.history');
        return {
          checks: Number(attr(strip, 'data-checks')),
          cells: [...section.querySelectorAll('div.history > span.cell')].map((c) => ({
            status: attr(c, 'data-status'), title: attr(c, 'title') || '',
            width: c.getBoundingClientRect().width, height: c.getBoundingClientRect().height,
          })),
          since: text(section.querySelector('p.since')),
          beforeFix: order(section, fix),
        };
      })(),
      overviewStatus: attr(document.querySelector('header a.overview-status'), 'href'),
      sameCode: [...document.querySelectorAll('section#what-to-fix ol > li.finding')].map((li) =>
        [attr(li, 'data-code'), attr(li.querySelector('a.same-code'), 'href')]),
      passed: passed ? {
        open: passed.open,
        items: [...passed.querySelectorAll('li.finding')].map((li) => ({
          code: attr(li, 'data-code'), severity: attr(li, 'data-severity'),
        })),
      } : null,
    };
  });
}

function sameMultiset(a, b) {
  return show([...a].sort()) === show([...b].sort());
}

// The checks every report page passes, whatever the domain.
function checkReportStructure(label, domain, r, json) {
  if (!check(r.main !== null, `${label}: has main#report`)) return false;
  check(r.main.domain === domain, `${label}: main#report data-domain`, show(r.main.domain));
  check(r.main.status === json.status && r.main.status in RANK,
        `${label}: main#report data-status equals the JSON status`,
        `html ${show(r.main.status)}, json ${show(json.status)}`);
  check(r.hasFix && r.hasDns && r.hasEndpoints,
        `${label}: has section#what-to-fix, section#dns, section#endpoints`,
        `what-to-fix ${r.hasFix}, dns ${r.hasDns}, endpoints ${r.hasEndpoints}`);
  check(r.fixFirst, `${label}: "What to fix" comes before the endpoint panels`);

  // What to fix: exactly the JSON's non-OK findings, worst first, each with its texts.
  const notOk = (json.findings || []).filter((f) => f.severity !== 'ok');
  const ok = (json.findings || []).filter((f) => f.severity === 'ok');
  check(r.strayFixItems === 0, `${label}: every What-to-fix finding is in its <ol>`);
  check(sameMultiset(r.fixItems.map((i) => `${i.code}/${i.severity}`),
                     notOk.map((f) => `${f.code}/${f.severity}`)),
        `${label}: What to fix lists exactly the non-OK findings of the JSON`,
        `html ${show(r.fixItems.map((i) => `${i.code}/${i.severity}`))}, ` +
        `json ${show(notOk.map((f) => `${f.code}/${f.severity}`))}`);
  const ranks = r.fixItems.map((i) => RANK[i.severity] ?? -1);
  check(ranks.every((x, k) => x >= 1 && (k === 0 || ranks[k - 1] >= x)),
        `${label}: What to fix is sorted worst first (error, crit, warn, info)`,
        show(r.fixItems.map((i) => i.severity)));
  const missingText = [];
  const used = new Set();
  for (const f of notOk) {
    const k = r.fixItems.findIndex((i, n) => !used.has(n) && i.code === f.code &&
      i.severity === f.severity && norm(i.text).includes(norm(f.message)) &&
      norm(i.text).includes(norm(f.fix).replace(/`/g, '')) && norm(i.text).includes(norm(f.rfc)));
    if (k < 0) missingText.push(f.code); else used.add(k);
  }
  check(missingText.length === 0, `${label}: each What-to-fix item shows its message, fix and RFC`,
        `not found for ${show(missingText)}`);
  check(r.allClear === (notOk.length === 0),
        `${label}: p.all-clear present exactly when nothing is to fix`,
        `all-clear ${r.allClear}, ${notOk.length} to fix`);

  // Endpoint panels: open exactly when something is wrong there.
  check(r.endpoints.length > 0, `${label}: at least one endpoint panel`);
  const wrongState = r.endpoints.filter((e) => e.open !== OPEN_STATUSES.has(e.status) || !(e.status in RANK));
  check(wrongState.length === 0,
        `${label}: endpoint panels are open iff their status is warn/crit/error`,
        show(wrongState.map((e) => ({ ip: e.ip, status: e.status, open: e.open }))));
  // No banner where the server never greeted; always a transcript.
  const noBanner = r.endpoints.filter((e) => e.banner.length > 1 || e.transcript.length !== 1);
  check(noBanner.length === 0, `${label}: each endpoint panel has at most one pre.banner and one pre.transcript`,
        show(noBanner.map((e) => ({ ip: e.ip, banners: e.banner.length, transcripts: e.transcript.length }))));

  // Passed checks: collapsed, exactly the JSON's OK findings.
  if (ok.length > 0 || r.passed) {
    if (check(r.passed !== null, `${label}: has details#passed-checks`)) {
      check(!r.passed.open, `${label}: passed checks are collapsed`);
      check(sameMultiset(r.passed.items.map((i) => `${i.code}/${i.severity}`),
                         ok.map((f) => `${f.code}/ok`)),
            `${label}: passed checks list exactly the OK findings of the JSON`,
            `html ${show(r.passed.items.map((i) => `${i.code}/${i.severity}`))}, ` +
            `json ${show(ok.map((f) => f.code))}`);
    }
  }

  // History: the domain's checks (at least this one), as titled cells; the newest is this
  // check's status. A status change needs two checks of different outcome, which the lab
  // cannot promise in a test's time: the unit goldens cover the "since ..., was ..." text.
  if (check(r.history !== null, `${label}: has section#history`)) {
    const h = r.history;
    check(h.cells.length >= 1 && h.cells.length === h.checks && h.cells.length <= 48,
          `${label}: the history strip has one cell per check kept (1 to 48)`,
          `data-checks ${h.checks}, ${h.cells.length} cells`);
    check(h.cells.every((c) => c.status in RANK && /UTC: [A-Z]+ \(.*\), took [0-9.]+ s/.test(c.title)),
          `${label}: every history cell has a status and a title (time, status, counts, duration)`,
          show(h.cells.slice(0, 3)));
    check(h.cells.every((c) => c.width >= 2 && c.height >= 4),
          `${label}: the history cells are drawn (visible size)`, show(h.cells.slice(0, 3)));
    check(h.cells.at(-1)?.status === json.status,
          `${label}: the newest history cell has the report's status`,
          `${h.cells.at(-1)?.status} vs ${json.status}`);
    check(norm(h.since).startsWith(`${json.status} `), `${label}: p.since starts with the status`,
          show(h.since));
    check(h.beforeFix, `${label}: the history comes before "What to fix"`);
  }
  check(r.overviewStatus === `/?status=${json.status}`,
        `${label}: links to the overview filtered on its status`, show(r.overviewStatus));
  const badLinks = r.sameCode.filter(([code, href]) => href !== `/?code=${encodeURIComponent(code)}`);
  check(badLinks.length === 0, `${label}: each What-to-fix item links to the overview filtered on its code`,
        show(badLinks));
  return true;
}

// Loads a report page in both contexts, runs the generic checks; returns the strict page.
// The HTML is compared with the JSON of the same check: if a new check of the domain finished
// while the pages loaded (the JSON before and after differ), they are loaded again.
const LOAD_ATTEMPTS = 5;
async function loadReport(domain, strict, raw) {
  const label = domain;
  const url = reportUrl(domain);
  let loaded, bare, json;
  for (let attempt = 1; ; attempt++) {
    const before = await fetchJson(domain, attempt > 1);
    loaded = await open(strict, url);
    bare = await open(raw, url);
    json = await fetchJson(domain, true);
    if (show(before) === show(json)) break;
    if (!check(attempt < LOAD_ATTEMPTS, `${label}: a stable check result to compare with`,
               `a new check finished during each of ${LOAD_ATTEMPTS} page loads`)) break;
    console.log(`NOTE  ${label}: a new check finished while the page loaded; loading it again`);
    await loaded.page.close();
    await bare.page.close();
  }
  const body = await checkHtmlResponse(label, loaded);
  writeFileSync(join(artifactDir, `${domain.split('.')[0]}.html`), body);
  await checkSafety(label, strict, loaded);
  await checkSafety(`${label} (CSP bypassed)`, raw, bare);
  await bare.page.close();
  const r = await readReport(loaded.page);
  checkReportStructure(label, domain, r, json);
  return { page: loaded.page, r, json };
}

async function relayChecks(strict, raw) {
  const { page, r } = await loadReport(RELAY, strict, raw);
  check(r.main?.status === 'crit', `${RELAY}: overall status crit`, show(r.main?.status));
  const codes = r.fixItems.map((i) => i.code);
  check(r.fixItems.some((i) => i.code === 'smtp.open_relay' && i.severity === 'crit'),
        `${RELAY}: What to fix contains smtp.open_relay (crit)`, show(codes));
  const relayPanel = r.endpoints.find((e) => e.ip === RELAY_IP);
  if (check(Boolean(relayPanel), `${RELAY}: endpoint panel for ${RELAY_IP}`,
            show(r.endpoints.map((e) => e.ip)))) {
    check(relayPanel.mx === RELAY_MX, `${RELAY}: panel ${RELAY_IP} data-mx ${RELAY_MX}`, show(relayPanel.mx));
    check(relayPanel.banner.length === 1 && relayPanel.banner[0].includes('220'),
          `${RELAY}: panel ${RELAY_IP} shows the greeting in pre.banner`, show(relayPanel.banner));
    check(relayPanel.open && relayPanel.status === 'crit', `${RELAY}: panel ${RELAY_IP} is open, status crit`,
          `open ${relayPanel.open}, status ${relayPanel.status}`);
    const badge = relayPanel.badges.find((b) => b.badge === 'open-relay');
    check(Boolean(badge) && badge.text === 'OPEN RELAY' && badge.cls.split(/\s+/).includes('badge-crit'),
          `${RELAY}: panel ${RELAY_IP} summary has the OPEN RELAY badge (span.badge.badge-crit)`,
          show(relayPanel.badges));
  }
  // Visible to a human: rendered, with a size, not transparent, and red-ish.
  const badge = page.locator(`details.endpoint[data-ip="${RELAY_IP}"] > summary [data-badge="open-relay"]`);
  const visible = (await badge.count()) === 1 && await badge.isVisible();
  if (check(visible, `${RELAY}: the OPEN RELAY badge is visible`)) {
    await badge.scrollIntoViewIfNeeded();
    const box = await badge.boundingBox();
    const style = await badge.evaluate((el) => {
      const s = getComputedStyle(el);
      return { opacity: s.opacity, visibility: s.visibility, color: s.color, bg: s.backgroundColor,
               text: el.innerText };
    });
    check(box && box.width > 10 && box.height > 5 && style.visibility === 'visible' &&
          Number(style.opacity) > 0.5 && /OPEN RELAY/i.test(style.text),
          `${RELAY}: the OPEN RELAY badge has a size, is opaque and reads OPEN RELAY`,
          show({ box, style }));
    const red = (c) => {
      const m = /rgba?\((\d+), (\d+), (\d+)/.exec(c);
      return m && Number(m[1]) > 120 && Number(m[1]) > Number(m[2]) + 60 && Number(m[1]) > Number(m[3]) + 60;
    };
    check(red(style.bg) || red(style.color), `${RELAY}: the OPEN RELAY badge is red`, show(style));
  }
  await screenshot(page, 'relay.png');

  // Readable on a phone: no horizontal scrolling of the page (long lines scroll in their pre).
  const phone = await strict.newPage();
  await phone.setViewportSize({ width: 375, height: 800 });
  await phone.goto(reportUrl(RELAY), { waitUntil: 'load' });
  const widths = await phone.evaluate(() => {
    const view = window.innerWidth;
    // The outermost elements sticking out on the right, outside any scrolling box.
    const clipped = (el) => {
      for (let a = el.parentElement; a; a = a.parentElement) {
        if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(a).overflowX)) return true;
      }
      return false;
    };
    const wide = [...document.querySelectorAll('body *')].filter((el) =>
      el.getBoundingClientRect().right > view + 1 && !clipped(el) &&
      !(el.parentElement.getBoundingClientRect().right > view + 1)).slice(0, 5).map((el) =>
      `<${el.localName}${el.className ? ` class="${el.className}"` : ''}> ends at ` +
      `${Math.round(el.getBoundingClientRect().right)} px: ${el.textContent.replace(/\s+/g, ' ').slice(0, 60)}`);
    return { page: document.documentElement.scrollWidth, view, wide };
  });
  check(widths.page <= widths.view + 1, `${RELAY}: fits a 375 px wide phone screen (no sideways scrolling)`,
        show(widths));
  await screenshot(phone, 'relay-phone.png');
  await phone.close();

  // Light and dark (prefers-color-scheme).
  const colours = {};
  for (const scheme of ['light', 'dark']) {
    const p = await strict.newPage();
    await p.emulateMedia({ colorScheme: scheme });
    await p.goto(reportUrl(RELAY), { waitUntil: 'load' });
    colours[scheme] = await p.evaluate(() => {
      const b = getComputedStyle(document.body);
      const h = getComputedStyle(document.documentElement);
      return `${b.backgroundColor}|${h.backgroundColor}|${b.color}`;
    });
    if (scheme === 'dark') await screenshot(p, 'relay-dark.png');
    await p.close();
  }
  check(colours.light !== colours.dark, `${RELAY}: has a dark colour scheme (prefers-color-scheme)`,
        show(colours));
  await page.close();
}

async function goodChecks(strict, raw) {
  const { page, r } = await loadReport(GOOD, strict, raw);
  check(r.main?.status === 'ok', `${GOOD}: overall status ok`, show(r.main?.status));
  check(r.fixItems.length === 0 && r.allClear, `${GOOD}: nothing to fix, p.all-clear shown`,
        show(r.fixItems.map((i) => i.code)));
  check(r.endpoints.length > 0 && r.endpoints.every((e) => !e.open),
        `${GOOD}: every endpoint panel is closed`,
        show(r.endpoints.map((e) => ({ ip: e.ip, status: e.status, open: e.open }))));
  check(r.openRelayBadges === 0, `${GOOD}: no OPEN RELAY badge`, `${r.openRelayBadges}`);
  if (r.allClear) {
    check(await page.locator('section#what-to-fix p.all-clear').isVisible(), `${GOOD}: all-clear is visible`);
  }
  await screenshot(page, 'good.png');
  await page.close();
}

async function hostileChecks(strict, raw) {
  const { page, r, json } = await loadReport(HOSTILE, strict, raw);
  const injected = await page.evaluate(() => ({
    img: document.querySelectorAll('img[src="x"], img[onerror]').length,
    bold: [...document.querySelectorAll('b')].filter((b) => b.textContent === 'BOLD').length,
  }));
  check(injected.img === 0 && injected.bold === 0, `${HOSTILE}: no injected <img src=x> or <b>BOLD</b> element`,
        show(injected));
  const panel = r.endpoints.find((e) => e.ip === HOSTILE_IP);
  if (check(Boolean(panel), `${HOSTILE}: endpoint panel for ${HOSTILE_IP}`, show(r.endpoints.map((e) => e.ip)))) {
    const banner = panel.banner[0] || '';
    check(banner.includes(BANNER_PAYLOAD), `${HOSTILE}: pre.banner shows the banner payload literally`,
          show(banner));
    check(banner.includes('<script>'), `${HOSTILE}: pre.banner textContent contains '<script>'`);
    check((panel.transcript[0] || '').includes(BANNER_PAYLOAD),
          `${HOSTILE}: pre.transcript shows the banner payload literally`);
    check(panel.text.includes(EHLO_PAYLOAD), `${HOSTILE}: the EHLO payload ${EHLO_PAYLOAD} is shown literally`);
    // The RCPT payload only reaches the report if the probe sent a RCPT to a lab address.
    if (JSON.stringify(json).includes(RCPT_PAYLOAD)) {
      check(panel.text.includes(RCPT_PAYLOAD), `${HOSTILE}: the RCPT payload ${RCPT_PAYLOAD} is shown literally`);
    } else {
      console.log(`NOTE  ${HOSTILE}: the RCPT payload is not in the JSON either; not checked`);
    }
    const bannerVisible = await page.locator(`details.endpoint[data-ip="${HOSTILE_IP}"] pre.banner`).isVisible();
    if (bannerVisible) {
      const rendered = await page.locator(`details.endpoint[data-ip="${HOSTILE_IP}"] pre.banner`).innerText();
      check(rendered.includes('<script>alert(1)</script>'), `${HOSTILE}: the rendered banner reads <script>alert(1)</script>`,
            show(rendered));
    }
  }
  await screenshot(page, 'hostile.png');
  await page.evaluate(() => document.querySelectorAll('details').forEach((d) => { d.open = true; }));
  await screenshot(page, 'hostile-expanded.png');
  await page.close();
}

// ---- the overview (/) ----------------------------------------------------------------------
function overviewUrl(params = {}) {
  const u = new URL('/', ORIGIN);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.href;
}

// Everything the contract says about the overview page.
async function readOverview(page) {
  return page.evaluate(() => {
    const attr = (el, name) => (el ? el.getAttribute(name) : null);
    const text = (el) => (el ? el.textContent : '');
    const main = document.querySelector('main#index');
    const filter = document.querySelector('section#filter');
    return {
      url: location.href,
      shown: Number(attr(main, 'data-shown')),
      total: Number(attr(main, 'data-total')),
      rows: [...document.querySelectorAll('table#domains tr.domain')].map((tr) => ({
        domain: attr(tr, 'data-domain'),
        status: attr(tr, 'data-status'),
        problems: [...tr.querySelectorAll('ul.problems > li.problem')].map((li) => ({
          code: attr(li, 'data-code'), severity: attr(li, 'data-severity'),
          what: text(li.querySelector('.what')), where: text(li.querySelector('.where')),
          visible: li.getBoundingClientRect().height > 0,
        })),
        history: (() => {
          const strip = tr.querySelector('div.history');
          if (!strip) return null;
          return {
            checks: Number(attr(strip, 'data-checks')),
            cells: [...strip.querySelectorAll(':scope > span.cell')].map((c) => ({
              status: attr(c, 'data-status'), title: attr(c, 'title') || '',
              width: c.getBoundingClientRect().width, height: c.getBoundingClientRect().height,
            })),
            since: text(tr.querySelector('p.since')),
          };
        })(),
      })),
      codes: [...document.querySelectorAll('section#problems ul.codes > li.code')].map((li) => ({
        code: attr(li, 'data-code'), severity: attr(li, 'data-severity'),
        domains: Number(attr(li, 'data-domains')), href: attr(li.querySelector('a'), 'href'),
        current: attr(li.querySelector('a'), 'aria-current'), text: text(li),
      })),
      allClear: Boolean(document.querySelector('section#problems p.all-clear')),
      statusLinks: [...document.querySelectorAll('p#status-summary a.status-link')].map((a) => ({
        status: attr(a, 'data-status'), href: attr(a, 'href'),
      })),
      filter: filter ? {
        status: attr(filter, 'data-status'), code: attr(filter, 'data-code'), q: attr(filter, 'data-q'),
        text: text(filter), clear: attr(filter.querySelector('a.clear'), 'href'),
        kinds: [...filter.querySelectorAll('span.filter')].map((f) => attr(f, 'data-filter')),
      } : null,
      noMatch: Boolean(document.querySelector('p.no-match')),
    };
  });
}

async function fetchAllJson() {
  const out = {};
  for (const d of DOMAINS) out[d] = await fetchJson(d, true);
  return out;
}

// Opens an overview URL in `context` with the three domains' JSON of the same checks (loaded
// again if a re-check landed in between, as for a report). `navigate` (optional) gets there
// from an already open page by following a link instead of page.goto.
async function loadOverview(label, context, url, navigate = null) {
  let loaded, jsons, o;
  for (let attempt = 1; ; attempt++) {
    const before = await fetchAllJson();
    if (navigate) {
      loaded = await navigate();
    } else {
      loaded = await open(context, url);
    }
    jsons = await fetchAllJson();
    o = await readOverview(loaded.page);
    if (show(before) === show(jsons)) break;
    if (!check(attempt < LOAD_ATTEMPTS, `${label}: a stable check result to compare with`,
               `a new check finished during each of ${LOAD_ATTEMPTS} page loads`)) break;
    console.log(`NOTE  ${label}: a new check finished while the page loaded; loading it again`);
    await loaded.page.close();
    navigate = null;  // the second time, straight to the URL the link led to
    url = o.url;
  }
  return { loaded, jsons, o };
}

const activeFindings = (json) => (json.findings || []).filter((f) => f.severity !== 'ok');
const isEndpoint = (subject) => /(^| )\[[^\] ]+\]$/.test(subject);

// The rows shown must be exactly `expected` (domain names), worst first, each row telling the
// truth about its domain's JSON: status, named problems, history.
function checkOverviewRows(label, o, jsons, expected) {
  const shown = o.rows.map((r) => r.domain);
  check(sameMultiset(shown, expected), `${label}: lists exactly ${show([...expected].sort())}`,
        show(shown));
  check(o.shown === o.rows.length && o.total === DOMAINS.length,
        `${label}: main#index data-shown/data-total`, `${o.shown}/${o.total}, ${o.rows.length} rows`);
  const ranks = o.rows.map((row) => RANK[row.status] ?? -1);
  check(ranks.every((x, k) => k === 0 || ranks[k - 1] >= x), `${label}: domains are listed worst first`,
        show(o.rows.map((row) => `${row.domain}:${row.status}`)));
  for (const row of o.rows) {
    const json = jsons[row.domain];
    if (!json) continue;
    check(row.status === json.status, `${label}: row ${row.domain} has the JSON status ${json.status}`,
          show(row.status));
    // Names: one line per active code and severity, by short title and subject.
    const active = activeFindings(json);
    const groups = new Map();
    for (const f of active) {
      const key = `${f.code}/${f.severity}`;
      if (!groups.has(key)) groups.set(key, { code: f.code, severity: f.severity, subjects: [] });
      const g = groups.get(key);
      if (!g.subjects.includes(f.subject)) g.subjects.push(f.subject);
    }
    check(sameMultiset(row.problems.map((p) => `${p.code}/${p.severity}`), [...groups.keys()]),
          `${label}: row ${row.domain} names exactly the JSON's active findings`,
          `html ${show(row.problems.map((p) => `${p.code}/${p.severity}`))}, json ${show([...groups.keys()])}`);
    const prank = row.problems.map((p) => RANK[p.severity] ?? -1);
    check(prank.every((x, k) => k === 0 || prank[k - 1] >= x), `${label}: row ${row.domain} problems worst first`,
          show(row.problems.map((p) => p.severity)));
    const wrong = [];
    for (const p of row.problems) {
      const g = groups.get(`${p.code}/${p.severity}`);
      const title = SHORT_TITLES[p.code];
      const textOf = norm(p.what + p.where);
      let good = Boolean(title) && norm(p.what) === title && p.visible;
      if (good && g) {
        const subjects = g.subjects;
        if (subjects.length === 1) {
          good = textOf === (subjects[0] === row.domain ? title : `${title} · ${subjects[0]}`);
        } else if (subjects.every(isEndpoint)) {
          good = new RegExp(`^${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} on ${subjects.length} (of \\d+ )?endpoints$`).test(textOf);
        } else {
          good = textOf.startsWith(`${title} · `);
        }
      }
      if (!good) wrong.push({ code: p.code, shown: textOf, title, subjects: g?.subjects });
    }
    check(wrong.length === 0, `${label}: row ${row.domain} names each problem by short title and subject`,
          show(wrong));
    // History: titled cells, the newest of the row's status.
    if (check(row.history !== null, `${label}: row ${row.domain} has a history strip`)) {
      const h = row.history;
      check(h.cells.length >= 1 && h.cells.length === h.checks && h.cells.length <= 48,
            `${label}: row ${row.domain} history has 1 to 48 cells, one per check`,
            `data-checks ${h.checks}, ${h.cells.length} cells`);
      check(h.cells.every((c) => c.status in RANK && /UTC: [A-Z]+ \(.*\), took [0-9.]+ s/.test(c.title)),
            `${label}: row ${row.domain} history cells have a status and a title`, show(h.cells.slice(0, 2)));
      check(h.cells.every((c) => c.width >= 1 && c.height >= 2),
            `${label}: row ${row.domain} history cells are drawn`, show(h.cells.slice(0, 2)));
      check(h.cells.at(-1)?.status === json.status && norm(h.since).startsWith(`${json.status} `),
            `${label}: row ${row.domain} newest cell and "since" line say ${json.status}`,
            `${h.cells.at(-1)?.status}; ${show(h.since)}`);
    }
  }
}

// The summary: one line per code active in any domain, with how many domains have it.
function checkCodeSummary(label, o, jsons) {
  const expected = new Map();
  for (const d of DOMAINS) {
    for (const code of new Set(activeFindings(jsons[d]).map((f) => f.code))) {
      expected.set(code, (expected.get(code) || 0) + 1);
    }
  }
  check(sameMultiset(o.codes.map((c) => `${c.code}:${c.domains}`),
                     [...expected].map(([code, n]) => `${code}:${n}`)),
        `${label}: section#problems has one line per active code, with its number of domains`,
        `html ${show(o.codes.map((c) => `${c.code}:${c.domains}`))}, json ${show([...expected])}`);
  const bad = o.codes.filter((c) => c.href !== `/?code=${encodeURIComponent(c.code)}` ||
    !norm(c.text).includes(`${c.domains} domain${c.domains === 1 ? '' : 's'}: ${SHORT_TITLES[c.code]}`));
  check(bad.length === 0, `${label}: each line reads "N domains: <short title>" and links to /?code=`,
        show(bad));
  const ranks = o.codes.map((c) => RANK[c.severity] ?? -1);
  check(ranks.every((x, k) => k === 0 || ranks[k - 1] >= x), `${label}: active codes are listed worst first`,
        show(o.codes.map((c) => c.severity)));
  check(o.allClear === (o.codes.length === 0), `${label}: p.all-clear exactly when nothing is active`);
}

async function noOverflow(page) {
  return page.evaluate(() => ({ page: document.documentElement.scrollWidth, view: window.innerWidth }));
}

async function indexChecks(strict, raw) {
  const label = 'index /';
  const { loaded, jsons, o } = await loadOverview(label, strict, overviewUrl());
  const body = await checkHtmlResponse(label, loaded);
  writeFileSync(join(artifactDir, 'index.html'), body);
  await checkSafety(label, strict, loaded);
  const bare = await open(raw, overviewUrl());
  await checkSafety(`${label} (CSP bypassed)`, raw, bare);
  await bare.page.close();
  checkOverviewRows(label, o, jsons, DOMAINS);
  checkCodeSummary(label, o, jsons);
  check(o.filter === null && !o.noMatch, `${label}: no filter shown when none is set`);
  const pos = (d) => o.rows.findIndex((x) => x.domain === d);
  check(pos(RELAY) >= 0 && pos(GOOD) >= 0 && pos(RELAY) < pos(GOOD), `${label}: ${RELAY} is listed before ${GOOD}`);
  const relayRow = o.rows.find((r) => r.domain === RELAY);
  const relayName = relayRow?.problems.find((p) => p.code === 'smtp.open_relay');
  check(norm(relayName ? relayName.what + relayName.where : '') === `open relay · ${RELAY_MX} [${RELAY_IP}]`,
        `${label}: ${RELAY} reads "open relay · ${RELAY_MX} [${RELAY_IP}]"`, show(relayName));
  await screenshot(loaded.page, 'index.png');

  // A code line of the summary leads to the view filtered on it.
  const codeLink = 'section#problems li.code[data-code="smtp.open_relay"] > a';
  if (check(await loaded.page.locator(codeLink).count() === 1, `${label}: a summary line for smtp.open_relay`)) {
    const byCode = await loadOverview(`${label}?code=`, strict, null, async () => {
      await Promise.all([loaded.page.waitForNavigation({ waitUntil: 'load' }), loaded.page.click(codeLink)]);
      return loaded;
    });
    const l = 'index /?code=smtp.open_relay';
    check(new URL(byCode.o.url).search === '?code=smtp.open_relay', `${l}: the summary link leads there`, byCode.o.url);
    checkOverviewRows(l, byCode.o, byCode.jsons,
                      DOMAINS.filter((d) => activeFindings(byCode.jsons[d]).some((f) => f.code === 'smtp.open_relay')));
    check(byCode.o.filter?.code === 'smtp.open_relay' && show(byCode.o.filter?.kinds) === show(['code']),
          `${l}: section#filter says it filters on the code`, show(byCode.o.filter));
    check(byCode.o.codes.find((c) => c.code === 'smtp.open_relay')?.current === 'true',
          `${l}: the filtered code is marked aria-current`);
    check(byCode.o.codes.length > 0 && byCode.o.codes.length === o.codes.length,
          `${l}: the summary still covers every domain`);
    await screenshot(byCode.loaded.page, 'index-filtered.png');
    // a.clear shows every domain again.
    if (check(byCode.o.filter?.clear === '/', `${l}: section#filter has a.clear leading to /`,
              show(byCode.o.filter?.clear))) {
      const back = await loadOverview(`${l} -> clear`, strict, null, async () => {
        await Promise.all([byCode.loaded.page.waitForNavigation({ waitUntil: 'load' }),
                           byCode.loaded.page.click('section#filter a.clear')]);
        return byCode.loaded;
      });
      check(new URL(back.o.url).pathname === '/' && new URL(back.o.url).search === '' &&
            back.o.rows.length === DOMAINS.length && back.o.filter === null,
            `${l}: a.clear leads back to every domain`, `${back.o.url}, ${back.o.rows.length} rows`);
      await back.loaded.page.close();
    }
    await byCode.loaded.page.close();
  }

  // The status counts lead to the view filtered on that status.
  {
    const start = await open(strict, overviewUrl());
    const link = 'p#status-summary a.status-link[data-status="crit"]';
    if (check(await start.page.locator(link).count() === 1, `${label}: a status link for crit`)) {
      const byStatus = await loadOverview(`${label}?status=`, strict, null, async () => {
        await Promise.all([start.page.waitForNavigation({ waitUntil: 'load' }), start.page.click(link)]);
        return start;
      });
      const l = 'index /?status=crit';
      check(new URL(byStatus.o.url).search === '?status=crit', `${l}: the status link leads there`, byStatus.o.url);
      checkOverviewRows(l, byStatus.o, byStatus.jsons, DOMAINS.filter((d) => byStatus.jsons[d].status === 'crit'));
      check(byStatus.o.filter?.status === 'crit', `${l}: section#filter says it filters on the status`,
            show(byStatus.o.filter));
      await byStatus.loaded.page.close();
    }
    await start.page.close();
  }

  // ?q=: a case-insensitive part of the name.
  {
    const l = 'index /?q=RELAY';
    const byName = await loadOverview(l, strict, overviewUrl({ q: 'RELAY' }));
    checkOverviewRows(l, byName.o, byName.jsons, DOMAINS.filter((d) => d.includes('relay')));
    check(byName.o.filter?.q === 'relay', `${l}: section#filter says it filters on the name`, show(byName.o.filter));
    await byName.loaded.page.close();
  }

  // A hostile filter is text, in both contexts; it matches nothing and says so.
  {
    const l = 'index /?q=<script>';
    const payload = '<script>alert(4)</script>"><img src=x onerror=alert(5)>';
    const hostile = await open(strict, overviewUrl({ q: payload, code: '<b>x</b>' }));
    await checkSafety(l, strict, hostile);
    const state = await readOverview(hostile.page);
    const injected = await hostile.page.evaluate(() => document.querySelectorAll('img, b').length);
    check(state.rows.length === 0 && state.noMatch && injected === 0 &&
          norm(state.filter?.text).includes(payload.toLowerCase()) && state.filter?.code === '<b>x</b>',
          `${l}: matches nothing, says so, shows the filter as text`, show({ state, injected }));
    await hostile.page.close();
    const bareHostile = await open(raw, overviewUrl({ q: payload }));
    await checkSafety(`${l} (CSP bypassed)`, raw, bareHostile);
    await bareHostile.page.close();
  }

  // Bad filters are refused.
  for (const [params, what] of [[{ status: 'bogus' }, 'a bad ?status='], [{ q: 'a'.repeat(254) }, 'a ?q= over 253']]) {
    const r = await fetchBounded(overviewUrl(params));
    check(r.status === 400 && /^text\/plain\b/.test(r.type), `index: ${what} answers 400`, `${r.status} ${r.type}`);
  }

  // Phone width and dark mode.
  const phone = await strict.newPage();
  await phone.setViewportSize({ width: 375, height: 800 });
  await phone.goto(overviewUrl(), { waitUntil: 'load' });
  const widths = await noOverflow(phone);
  check(widths.page <= widths.view + 1, `${label}: fits a 375 px wide phone screen (no sideways scrolling)`,
        show(widths));
  await screenshot(phone, 'index-phone.png');
  await phone.close();
  const colours = {};
  for (const scheme of ['light', 'dark']) {
    const p = await strict.newPage();
    await p.emulateMedia({ colorScheme: scheme });
    await p.goto(overviewUrl(), { waitUntil: 'load' });
    colours[scheme] = await p.evaluate(() => {
      const cell = document.querySelector('div.history > span.cell');
      return `${getComputedStyle(document.body).backgroundColor}|${getComputedStyle(document.body).color}|` +
             `${cell ? getComputedStyle(cell).backgroundColor : ''}`;
    });
    if (scheme === 'dark') await screenshot(p, 'index-dark.png');
    await p.close();
  }
  check(colours.light !== colours.dark, `${label}: has a dark colour scheme (prefers-color-scheme)`, show(colours));
  await loaded.page.close();
}

// From the report back to the overview: the link of a What-to-fix item.
async function reportToOverviewChecks(strict) {
  const label = `${RELAY} -> overview`;
  const loaded = await open(strict, reportUrl(RELAY));
  const link = 'section#what-to-fix li.finding[data-code="smtp.open_relay"] a.same-code';
  if (check(await loaded.page.locator(link).count() === 1, `${label}: the open relay finding links to the overview`)) {
    await Promise.all([loaded.page.waitForNavigation({ waitUntil: 'load' }), loaded.page.click(link)]);
    const o = await readOverview(loaded.page);
    check(new URL(o.url).search === '?code=smtp.open_relay' && o.rows.some((r) => r.domain === RELAY),
          `${label}: lands on /?code=smtp.open_relay, listing ${RELAY}`, `${o.url} ${show(o.rows.map((r) => r.domain))}`);
  }
  await loaded.page.close();
}

async function formatChecks() {
  const text = await fetchBounded(reportUrl(RELAY, 'text'));
  check(text.status === 200 && /^text\/plain\b/.test(text.type) && text.body.includes(RELAY) &&
        !/<html|<main/i.test(text.body),
        `${RELAY}: &format=text answers plain text`, `${text.status} ${text.type}`);
}

// ---- run -------------------------------------------------------------------------------------
let crashed = null;
try {
  console.log(`report_test: chromium ${browser.version()} (${CHROMIUM}), daemon ${ORIGIN}, artifacts ${artifactDir}`);
  const strict = await newContext({});
  const raw = await newContext({ bypassCSP: true });
  await relayChecks(strict, raw);
  await goodChecks(strict, raw);
  await hostileChecks(strict, raw);
  for (const d of DOMAINS) await fetchJson(d);
  check(Object.keys(SHORT_TITLES).length > 0, 'docs/findings.md lists the short titles');
  await indexChecks(strict, raw);
  await reportToOverviewChecks(strict);
  await formatChecks();
  // Anything a context fetched off-origin after the per-page checks ran.
  check(strict.foreign.length === 0 && raw.foreign.length === 0, 'no request ever left the daemon origin',
        show([...strict.foreign, ...raw.foreign]));
} catch (e) {
  crashed = e;
} finally {
  await browser.close().catch(() => {});
}
if (crashed) {
  failures.push(`the test itself stopped: ${crashed.stack || crashed}`);
  console.log(`FAIL  the test itself stopped: ${crashed.stack || crashed}`);
}
console.log(`report_test: ${passes} passed, ${failures.length} failed; artifacts in ${artifactDir}`);
if (failures.length) {
  console.log('report_test: FAILED checks:');
  for (const f of failures) console.log(`  - ${f}`);
  process.exit(1);
}
process.exit(0);
