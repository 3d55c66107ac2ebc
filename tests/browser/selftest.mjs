#!/usr/bin/env node
// Fast self-test of report_test.mjs, without the daemon or the lab: a loopback HTTP server
// serves hand-written pages that follow the DOM contract (exporter/report/html_report.h), and
// report_test.mjs must pass on them; then the server breaks the pages one way at a time
// (unescaped hostile banner, no CSP, an external image, What-to-fix out of order, the relay
// panel closed, an overview that ignores its filter or draws history cells without titles,
// ...) and report_test.mjs must fail with the matching check. This proves the browser checks
// can fail, which a passing run against a correct renderer cannot show.
//
//   node tests/browser/selftest.mjs [ARTIFACT_DIR]      (exit 0: every case behaved)
//
// Needs what report_test.mjs needs (/usr/bin/chromium, tests/node/node_modules). Loopback only;
// every run of report_test.mjs is bounded.
import { createServer } from 'node:http';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; " +
            "form-action 'none'; frame-ancestors 'none'";
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  .replace(/"/g, '&quot;').replace(/'/g, '&#39;');
const RANK = { ok: 0, info: 1, warn: 2, crit: 3, error: 4 };

const HOSTILE_BANNER = '220 mx-hostile.lab.test ESMTP <script>alert(1)</script> "><img src=x onerror=alert(2)>';
// Short titles as docs/findings.md gives them (report_test.mjs reads them there).
const SHORT = { 'smtp.ptr.missing': 'no PTR', 'smtp.open_relay': 'open relay',
                'smtp.starttls.missing': 'no STARTTLS' };
const DOMAINS = {
  'relay.lab.test': {
    status: 'crit',
    history: ['ok', 'crit'],
    findings: [
      { code: 'smtp.ptr.missing', severity: 'warn', subject: 'mx-relay.lab.test [127.0.0.5]',
        message: 'No PTR record.', fix: 'Publish a PTR.', rfc: 'RFC 1912 2.1' },
      { code: 'smtp.open_relay', severity: 'crit', subject: 'mx-relay.lab.test [127.0.0.5]',
        message: 'The server accepted mail for example.com from example.net.',
        fix: 'Restrict relaying to your own domains.', rfc: 'RFC 5321 3.6.2' },
      { code: 'smtp.starttls.missing', severity: 'ok', subject: 'mx-relay.lab.test [127.0.0.5]',
        message: 'STARTTLS works.', fix: '', rfc: '' },
    ],
    endpoints: [{ ip: '127.0.0.5', mx: 'mx-relay.lab.test', status: 'crit', badges: ['open-relay'],
                  banner: '220 mx-relay.lab.test ESMTP Postfix', ehlo: ['PIPELINING', 'STARTTLS'] }],
  },
  'good.lab.test': {
    status: 'ok',
    history: ['ok'],
    findings: [{ code: 'smtp.open_relay', severity: 'ok', subject: 'mx-good.lab.test [127.0.0.2]',
                 message: 'Relaying is refused.', fix: '', rfc: '' }],
    endpoints: [{ ip: '127.0.0.2', mx: 'mx-good.lab.test', status: 'ok', badges: [],
                  banner: '220 mx-good.lab.test ESMTP Postfix', ehlo: ['PIPELINING', 'STARTTLS'] }],
  },
  'hostile.lab.test': {
    status: 'warn',
    history: ['warn', 'warn', 'warn'],
    findings: [{ code: 'smtp.starttls.missing', severity: 'warn', subject: 'mx-hostile.lab.test [127.0.0.16]',
                 message: 'No STARTTLS; the greeting was ' + HOSTILE_BANNER, fix: 'Offer STARTTLS.',
                 rfc: 'RFC 3207' }],
    endpoints: [{ ip: '127.0.0.16', mx: 'mx-hostile.lab.test', status: 'warn', badges: [],
                  banner: HOSTILE_BANNER, ehlo: ['PIPELINING', 'X-<b>BOLD</b>'],
                  rcpt: '250 2.1.5 <script>alert(3)</script> ok' }],
  },
};

// One way to break the pages per case; '' is the correct page. `expect`: a FAIL line must
// contain this text.
const CASES = [
  { mode: '', expect: null },
  { mode: 'unescaped-banner', expect: 'hostile.lab.test (CSP bypassed): no script ran' },
  { mode: 'unescaped-ehlo', expect: 'no injected <img src=x> or <b>BOLD</b> element' },
  { mode: 'no-csp', expect: 'served with a Content-Security-Policy header' },
  { mode: 'csp-allows-script', expect: 'CSP allows no script and no external source' },
  { mode: 'external-image', expect: 'nothing fetched but' },
  { mode: 'inline-script', expect: 'no <script>, no on* attribute' },
  { mode: 'fix-order', expect: 'What to fix is sorted worst first' },
  { mode: 'relay-closed', expect: 'endpoint panels are open iff' },
  { mode: 'no-badge', expect: 'OPEN RELAY badge' },
  { mode: 'hidden-badge', expect: 'the OPEN RELAY badge is visible' },
  { mode: 'good-open', expect: 'good.lab.test: every endpoint panel is closed' },
  { mode: 'index-order', expect: 'domains are listed worst first' },
  { mode: 'phone-overflow', expect: 'fits a 375 px wide phone screen' },
  { mode: 'index-names', expect: 'row relay.lab.test names exactly the JSON\'s active findings' },
  { mode: 'index-long-title', expect: 'row relay.lab.test names each problem by short title and subject' },
  { mode: 'index-filter-ignored', expect: 'index /?code=smtp.open_relay: lists exactly' },
  { mode: 'index-no-clear', expect: 'section#filter has a.clear leading to /' },
  { mode: 'history-no-title', expect: 'history cells have a status and a title' },
  { mode: 'report-no-history', expect: 'has section#history' },
  { mode: 'index-q-unescaped', expect: 'index /?q=<script> (CSP bypassed): no script ran' },
  { mode: 'index-bad-status-ok', expect: 'a bad ?status= answers 400' },
  { mode: 'index-phone-overflow', expect: 'index /: fits a 375 px wide phone screen' },
];

const cell = (status, mode) => `<span class="cell" data-status="${status}"` +
  (mode === 'history-no-title' ? '' : ` title="2026-11-25 01:52:57 UTC: ${status.toUpperCase()} (nothing to fix), took 0.50 s"`) +
  ' style="display:inline-block;width:6px;height:12px;background:#888"></span>';
const strip = (d, mode) => `<div class="history" data-checks="${d.history.length}">${d.history.map((x) => cell(x, mode)).join('')}</div>` +
  `<p class="since">${d.status} since 01:52 UTC</p>`;

function reportPage(name, d, mode) {
  const notOk = d.findings.filter((f) => f.severity !== 'ok')
    .sort((a, b) => (mode === 'fix-order' ? 1 : -1) * (RANK[a.severity] - RANK[b.severity]));
  const ok = d.findings.filter((f) => f.severity === 'ok');
  const li = (f) => `<li class="finding" data-code="${esc(f.code)}" data-severity="${f.severity}">` +
    `<strong>${esc(f.code)}</strong> <span>${esc(f.subject)}</span><p>${esc(f.message)}</p>` +
    `<p>${esc(f.fix)}</p><p>${esc(f.rfc)}</p>` +
    (f.severity === 'ok' ? '' : `<a class="same-code" href="/?code=${encodeURIComponent(f.code)}">which domains</a>`) +
    '</li>';
  const badge = (b) => b === 'open-relay'
    ? (mode === 'no-badge' ? '' : `<span class="badge badge-crit" data-badge="open-relay"${mode === 'hidden-badge' ? ' style="display:none"' : ''}>OPEN RELAY</span>`)
    : '';
  const endpoint = (e) => {
    let open = ['warn', 'crit', 'error'].includes(e.status);
    if (mode === 'relay-closed' && e.ip === '127.0.0.5') open = false;
    if (mode === 'good-open' && e.ip === '127.0.0.2') open = true;
    const banner = mode === 'unescaped-banner' ? e.banner : esc(e.banner);
    const ehlo = e.ehlo.map((x) => `<tr><td>${mode === 'unescaped-ehlo' ? x : esc(x)}</td></tr>`).join('');
    return `<details class="endpoint" data-ip="${e.ip}" data-mx="${esc(e.mx)}" data-status="${e.status}"${open ? ' open' : ''}>` +
      `<summary>${esc(e.mx)} [${e.ip}] <span class="badge" data-badge="reachable">reachable</span>${e.badges.map(badge).join('')}</summary>` +
      `<pre class="banner">${banner}</pre><table>${ehlo}</table>` +
      (e.rcpt ? `<p class="reply">${esc(e.rcpt)}</p>` : '') +
      `<pre class="transcript">${esc(e.banner)}\n${e.ehlo.map(esc).join('\n')}\n${esc(e.rcpt || '')}</pre></details>`;
  };
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(name)}</title>
<style>body{font-family:sans-serif;margin:1em;background:#fff;color:#111}
pre{overflow-x:auto;white-space:pre}.badge{padding:0 .3em;border-radius:3px;background:#ddd}
.badge-crit{background:#c62828;color:#fff}
@media (prefers-color-scheme: dark){body{background:#111;color:#eee}}</style>
${mode === 'inline-script' ? '<script>1</script>' : ''}</head><body>
<main id="report" data-domain="${esc(name)}" data-status="${d.status}"><header><a href="/">all</a>
<a class="overview-status" href="/?status=${d.status}">same status</a><h1>${esc(name)}</h1></header>
${mode === 'report-no-history' ? '' : `<section id="history">${strip(d, mode)}</section>`}
${mode === 'phone-overflow' ? '<p class="meta"><span style="white-space:nowrap">checked 2026-11-25 01:52:57 UTC</span><span style="white-space:nowrap">next check 2026-11-25 01:53:57 UTC</span></p>' : ''}
<section id="what-to-fix"><h2>What to fix</h2>${notOk.length ? `<ol>${notOk.map(li).join('')}</ol>` : '<p class="all-clear">Nothing to fix.</p>'}</section>
<section id="dns"><h2>DNS</h2>${mode === 'external-image' ? '<img src="http://192.0.2.1/x.png" alt="">' : ''}</section>
<section id="endpoints"><h2>Endpoints</h2>${d.endpoints.map(endpoint).join('')}</section>
<details id="passed-checks"><summary>Passed checks</summary><ul>${ok.map(li).join('')}</ul></details>
</main></body></html>`;
}

// The overview with the server-side filters of exporter/report/overview.h, done the plain way.
function indexPage(mode, url) {
  const status = url.searchParams.get('status') || '';
  const code = mode === 'index-filter-ignored' ? '' : (url.searchParams.get('code') || '');
  const q = (url.searchParams.get('q') || '').trim().toLowerCase();
  if (status && !RANK.hasOwnProperty(status) && status !== 'pending' && mode !== 'index-bad-status-ok') return null;
  if (q.length > 253) return null;
  const active = (d) => d.findings.filter((f) => f.severity !== 'ok')
    .sort((a, b) => RANK[b.severity] - RANK[a.severity]);
  let rows = Object.entries(DOMAINS).sort((a, b) => RANK[b[1].status] - RANK[a[1].status]);
  if (mode === 'index-order') rows = rows.reverse();
  const shown = rows.filter(([n, d]) => (!status || d.status === status) && n.includes(q) &&
    (!code || active(d).some((f) => f.code === code)));
  const codes = new Map();
  for (const [, d] of rows) {
    for (const c of new Set(active(d).map((f) => f.code))) codes.set(c, (codes.get(c) || 0) + 1);
  }
  const problem = (n, f) => {
    if (mode === 'index-names' && n === 'relay.lab.test') return '';
    const title = mode === 'index-long-title' ? `${SHORT[f.code]} (the long way)` : SHORT[f.code];
    return `<li class="problem" data-code="${esc(f.code)}" data-severity="${f.severity}"><span class="what">` +
      `${esc(title)}</span><span class="where"> · ${esc(f.subject)}</span></li>`;
  };
  const filterText = mode === 'index-q-unescaped' ? q : esc(q);
  const filter = status || code || q
    ? `<section id="filter" data-status="${esc(status)}" data-code="${esc(code)}" data-q="${esc(q)}"><p>` +
      (status ? '<span class="filter" data-filter="status">status</span>' : '') +
      (code ? `<span class="filter" data-filter="code">${esc(code)}</span>` : '') +
      (q ? `<span class="filter" data-filter="q">${filterText}</span>` : '') +
      (mode === 'index-no-clear' ? '' : ' <a class="clear" href="/">all</a>') + '</p></section>'
    : '';
  return `<!doctype html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>smtp_exporter</title>
<style>body{font-family:sans-serif;background:#fff;color:#111}
table{width:100%;table-layout:fixed}td{overflow-wrap:anywhere}
@media (prefers-color-scheme: dark){body{background:#111;color:#eee}}</style></head><body>
<main id="index" data-shown="${shown.length}" data-total="${rows.length}">
<p id="status-summary">${[...new Set(rows.map(([, d]) => d.status))].map((st) => `<a class="status-link" data-status="${st}" href="/?status=${st}">${st}</a>`).join(' ')}</p>
<section id="problems">${codes.size ? `<ul class="codes">${[...codes].map(([c, n]) => `<li class="code" data-code="${esc(c)}" data-severity="crit" data-domains="${n}"><a href="/?code=${encodeURIComponent(c)}"${c === code ? ' aria-current="true"' : ''}>${n} domain${n === 1 ? '' : 's'}: ${esc(SHORT[c])}</a></li>`).join('')}</ul>` : '<p class="all-clear">none</p>'}</section>
${filter}
${mode === 'index-phone-overflow' ? '<p style="white-space:nowrap">a line far too long for a phone screen, a line far too long for a phone screen</p>' : ''}
<table id="domains">${shown.map(([n, d]) => `<tr class="domain" data-domain="${esc(n)}" data-status="${d.status}"><td>${esc(n)}</td><td>${d.status}</td>` +
  `<td><ul class="problems">${active(d).map((f) => problem(n, f)).join('')}</ul></td><td>${strip(d, mode)}</td></tr>`).join('')}</table>
${shown.length ? '' : '<p class="no-match">none</p>'}</main></body></html>`;
}

function serve(mode) {
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const headers = {};
    if (mode !== 'no-csp') {
      headers['Content-Security-Policy'] = mode === 'csp-allows-script' ? CSP + "; script-src 'unsafe-inline'" : CSP;
    }
    const send = (status, type, body) => { res.writeHead(status, { ...headers, 'Content-Type': type }); res.end(body); };
    if (url.pathname === '/') {
      const page = indexPage(mode, url);
      return page === null ? send(400, 'text/plain; charset=utf-8', 'bad filter\n')
                           : send(200, 'text/html; charset=utf-8', page);
    }
    const name = url.searchParams.get('domain');
    const d = DOMAINS[name];
    if (url.pathname !== '/report' || !d) return send(404, 'text/plain', 'not found\n');
    const format = url.searchParams.get('format');
    if (format === 'json') return send(200, 'application/json', JSON.stringify({ domain: name, status: d.status, findings: d.findings }));
    if (format === 'text') return send(200, 'text/plain; charset=utf-8', `${name}: ${d.status}\n`);
    return send(200, 'text/html; charset=utf-8', reportPage(name, d, mode));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function runReportTest(base, dir) {
  const script = fileURLToPath(new URL('report_test.mjs', import.meta.url));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, base, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b) => { out += b; });
    child.stderr.on('data', (b) => { out += b; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, out }); });
  });
}

// --serve [MODE]: only serve the pages (for working on report_test.mjs by hand), for 10 min.
if (process.argv[2] === '--serve') {
  const server = await serve(process.argv[3] || '');
  console.log(`serving http://127.0.0.1:${server.address().port} (mode ${process.argv[3] || 'correct'})`);
  setTimeout(() => process.exit(0), 600_000);
} else {
  await selftest(process.argv[2]);
}

async function selftest(dir) {
const root = dir || mkdtempSync(join(tmpdir(), 'smtpx-browser-selftest-'));
let bad = 0;
for (const { mode, expect } of CASES) {
  const server = await serve(mode);
  const base = `http://127.0.0.1:${server.address().port}`;
  const { code, out } = await runReportTest(base, join(root, mode || 'correct'));
  server.close();
  const fails = out.split('\n').filter((l) => l.startsWith('FAIL'));
  const ok = expect === null ? code === 0 : code === 1 && fails.some((l) => l.includes(expect));
  console.log(`${ok ? 'ok  ' : 'BAD '} ${mode || '(correct pages)'}: exit ${code}, ${fails.length} FAIL line(s)` +
              (expect ? `; expected a FAIL containing "${expect}"` : ''));
  if (!ok) {
    bad++;
    console.log(out);
  }
}
console.log(bad ? `selftest: ${bad} case(s) misbehaved` : `selftest: all ${CASES.length} cases behaved; artifacts in ${root}`);
process.exit(bad ? 1 : 0);
}
