#include "exporter/report/html_report.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <sstream>

#include "config/domain_name.h"
#include "exporter/check/facts.h"
#include "exporter/report/html.h"
#include "exporter/report/unix_time.h"
#include "probes/mta_sts.h"

namespace smtp_exporter {
namespace {

// One stylesheet for both pages. Colours are custom properties so the dark scheme only swaps
// values; severities carry a word as well as a colour (never colour alone).
constexpr std::string_view kStyle = R"css(
:root{--bg:#fff;--fg:#1b1f24;--muted:#59636e;--line:#d0d7de;--panel:#f6f8fa;--code:#eff1f3;
--ok:#1a7f37;--info:#0969da;--warn:#9a6700;--crit:#cf222e;--error:#8250df;--pending:#59636e}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;
--line:#30363d;--panel:#161b22;--code:#1f242c;--ok:#3fb950;--info:#4493f8;--warn:#d29922;
--crit:#f85149;--error:#ab7df8;--pending:#9198a1}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,
"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
main{max-width:72rem;margin:0 auto;padding:1rem}
a{color:var(--info)}
h1{font-size:1.5rem;margin:.2rem 0;overflow-wrap:anywhere}
h2{font-size:1.2rem;margin:1.5rem 0 .5rem;border-bottom:1px solid var(--line)}
h3{font-size:1rem;margin:1rem 0 .3rem}
code,pre{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.85rem}
code{background:var(--code);padding:0 .25em;border-radius:4px;overflow-wrap:anywhere}
pre{background:var(--code);padding:.6rem;border-radius:6px;overflow-x:auto;white-space:pre-wrap;
overflow-wrap:anywhere;margin:.3rem 0}
table{border-collapse:collapse;width:100%;margin:.3rem 0}
th,td{border-bottom:1px solid var(--line);padding:.3rem .5rem;text-align:left;vertical-align:top}
th{color:var(--muted);font-weight:600}
.table-wrap{overflow-x:auto}
table.transactions td:last-child{width:55%}
.muted{color:var(--muted)}
.meta{color:var(--muted);margin:.2rem 0;display:flex;flex-wrap:wrap;gap:.1rem 1rem}
.sev,.badge{display:inline-block;border-radius:999px;padding:0 .6em;font-size:.8rem;
font-weight:700;letter-spacing:.02em;border:1px solid currentColor;white-space:nowrap}
.sev-ok,.badge-ok{color:var(--ok)}.sev-info,.badge-info{color:var(--info)}
.sev-warn,.badge-warn{color:var(--warn)}.sev-crit,.badge-crit{color:var(--crit)}
.sev-error,.badge-error{color:var(--error)}.sev-pending,.badge-neutral{color:var(--pending)}
.badge-crit[data-badge=open-relay]{background:var(--crit);color:#fff;border-color:var(--crit)}
.status-big{font-size:1.1rem;padding:.1em .8em}
ol.findings{list-style:none;padding:0;margin:0}
li.finding{border:1px solid var(--line);border-left:6px solid var(--muted);border-radius:6px;
padding:.5rem .8rem;margin:.5rem 0;background:var(--panel)}
li.finding[data-severity=crit]{border-left-color:var(--crit)}
li.finding[data-severity=error]{border-left-color:var(--error)}
li.finding[data-severity=warn]{border-left-color:var(--warn)}
li.finding[data-severity=info]{border-left-color:var(--info)}
li.finding[data-severity=ok]{border-left-color:var(--ok);padding:.2rem .8rem;margin:.2rem 0}
.finding p{margin:.25rem 0}
.finding .title{font-weight:600}
.finding .subject{color:var(--muted);overflow-wrap:anywhere}
.finding .fix{white-space:pre-line}
.finding .rfc{color:var(--muted);font-size:.85rem}
.all-clear{color:var(--ok);font-weight:600}
details{border:1px solid var(--line);border-radius:6px;margin:.6rem 0;background:var(--panel)}
details>summary{cursor:pointer;padding:.5rem .8rem;font-weight:600;overflow-wrap:anywhere}
details>summary .badge{margin-left:.3rem;font-weight:700}
details>.body{padding:0 .8rem .8rem}
details.endpoint[data-status=crit],details.endpoint[data-status=error]{border-color:var(--crit)}
details.endpoint[data-status=warn]{border-color:var(--warn)}
.kv{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;margin:.3rem 0}
.kv dt{color:var(--muted)}.kv dd{margin:0;overflow-wrap:anywhere}
.timing{display:flex;height:1.1rem;border-radius:4px;overflow:hidden;margin:.4rem 0;
background:var(--code)}
.timing span{display:block;height:100%;min-width:2px}
.ph-0{background:#0969da}.ph-1{background:#1a7f37}.ph-2{background:#9a6700}
.ph-3{background:#8250df}.ph-4{background:#bf3989}.ph-5{background:#cf222e}.ph-6{background:#59636e}
.legend span{margin-right:.8rem;white-space:nowrap}
.legend i{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:.3em}
.check{color:var(--ok);font-weight:700}.cross{color:var(--muted)}
.counts span{margin-right:.6rem}
main#index{max-width:90rem}
.history{display:flex;align-items:flex-end;gap:1px;height:1.1rem;width:288px;max-width:100%}
.history .cell{flex:0 1 5px;min-width:1px;height:35%;border-radius:1px;background:var(--ok)}
.history .cell[data-status=info]{background:var(--info);height:55%}
.history .cell[data-status=warn]{background:var(--warn);height:75%}
.history .cell[data-status=crit]{background:var(--crit);height:100%}
.history .cell[data-status=error]{height:100%;outline:1px solid var(--error);outline-offset:-1px;
background:repeating-linear-gradient(135deg,var(--error) 0 2px,transparent 2px 4px)}
.history-large{height:2.4rem;gap:2px;width:auto;margin:.4rem 0}
.history-large .cell{flex:0 1 14px;min-width:2px;border-radius:2px}
.since{margin:.15rem 0;font-size:.85rem;color:var(--muted)}
.since strong{font-weight:700}
ol.changes{list-style:none;padding:0;margin:.2rem 0;display:flex;flex-wrap:wrap;gap:.1rem 1.2rem;
font-size:.9rem}
ul.codes{list-style:none;padding:0;margin:.3rem 0}
ul.codes li{margin:.2rem 0;overflow-wrap:anywhere}
ul.codes a[aria-current]{font-weight:700}
ul.problems{list-style:none;padding:0;margin:0}
li.problem{margin:.1rem 0;overflow-wrap:anywhere}
li.problem .sev,ul.codes .sev{font-size:.7rem;padding:0 .4em}
.where{color:var(--muted)}
#filter{border:1px solid var(--line);border-radius:6px;background:var(--panel);
padding:.4rem .8rem;margin:.6rem 0;overflow-wrap:anywhere}
#filter .filter{margin-right:.8rem}
footer{color:var(--muted);font-size:.8rem;margin:2rem 0 1rem}
@media (max-width:600px){body{font-size:14px}main{padding:.5rem}
.kv{grid-template-columns:1fr}.kv dd{margin-bottom:.3rem}
table#domains thead{display:none}
table#domains,table#domains tbody,table#domains tr,table#domains td{display:block}
table#domains tr.domain{border-bottom:1px solid var(--line);padding:.4rem 0}
table#domains td{border:0;padding:.1rem 0}
table#domains td:first-child{display:inline-block;margin-right:.5rem;vertical-align:top}
table#domains td:nth-child(2){display:inline-block}
.history{width:100%}}
@media print{body{background:#fff;color:#000}details{break-inside:avoid-page}
details::details-content{content-visibility:visible;display:block}
details>summary{list-style:none}}
)css";

std::string Esc(std::string_view text) { return EscapeHtml(text); }

// Catalog fix texts mark settings with backticks; shown as <code>. Applied after escaping, so
// it can only ever add <code> elements around already-escaped text.
std::string EscWithCode(std::string_view text) {
  const std::string escaped = EscapeHtml(text);
  std::string out;
  std::size_t pos = 0;
  while (pos < escaped.size()) {
    const std::size_t open = escaped.find('`', pos);
    const std::size_t close =
        open == std::string::npos ? std::string::npos : escaped.find('`', open + 1);
    if (close == std::string::npos) {
      out.append(escaped, pos, std::string::npos);
      break;
    }
    out.append(escaped, pos, open - pos);
    out += "<code>";
    out.append(escaped, open + 1, close - open - 1);
    out += "</code>";
    pos = close + 1;
  }
  return out;
}

std::string Upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string SeverityBadge(Severity severity, const char* extra_class = "") {
  const std::string name(SeverityName(severity));
  return "<span class=\"sev sev-" + name + extra_class + "\">" + Upper(name) + "</span>";
}

std::string FormatSeconds(double seconds) {
  char buffer[32];
  if (seconds < 10) {
    std::snprintf(buffer, sizeof(buffer), "%.3f s", seconds);
  } else {
    std::snprintf(buffer, sizeof(buffer), "%.1f s", seconds);
  }
  return buffer;
}

// "in 42 s", "3 min ago": relative to context.now_unix; "" when now is unknown.
std::string Relative(double unix_seconds, double now_unix) {
  if (now_unix <= 0 || unix_seconds <= 0) {
    return "";
  }
  const double delta = unix_seconds - now_unix;
  const double magnitude = std::fabs(delta);
  std::string amount;
  if (magnitude < 90) {
    amount = std::to_string(static_cast<long long>(std::llround(magnitude))) + " s";
  } else if (magnitude < 90 * 60) {
    amount = std::to_string(static_cast<long long>(std::llround(magnitude / 60))) + " min";
  } else {
    amount = std::to_string(static_cast<long long>(std::llround(magnitude / 3600))) + " h";
  }
  return delta >= 0 ? "in " + amount : amount + " ago";
}

std::string TimeWithRelative(double unix_seconds, double now_unix) {
  std::string out = FormatUnixUtc(unix_seconds);
  const std::string relative = Relative(unix_seconds, now_unix);
  if (!relative.empty()) {
    out += " (" + relative + ")";
  }
  return out;
}

constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// "14:05 UTC" on now's UTC day, "Nov 13 14:05 UTC" on another, in a <time> whose title is the
// full time: a history spans hours to days, and the strip is read at a glance.
std::string ShortTimeHtml(double unix_seconds, double now_unix) {
  const auto unix_whole = static_cast<std::int64_t>(unix_seconds);
  const std::tm tm = UtcCalendar(unix_whole);
  bool same_day = false;
  if (now_unix > 0) {
    const std::tm now_tm = UtcCalendar(static_cast<std::int64_t>(now_unix));
    same_day = tm.tm_year == now_tm.tm_year && tm.tm_yday == now_tm.tm_yday;
  }
  char label[48];
  if (same_day) {
    std::snprintf(label, sizeof(label), "%02d:%02d UTC", tm.tm_hour, tm.tm_min);
  } else {
    std::snprintf(label, sizeof(label), "%s %d %02d:%02d UTC",
                  kMonths[static_cast<std::size_t>(tm.tm_mon) % 12], tm.tm_mday, tm.tm_hour,
                  tm.tm_min);
  }
  return "<time datetime=\"" + FormatUnixRfc3339(unix_whole) + "\" title=\"" +
         FormatUnixUtc(unix_seconds) + "\">" + label + "</time>";
}

// A status word in its colour (the word carries the meaning, the colour helps).
std::string StatusWord(Severity severity, const char* element = "span") {
  const std::string_view name = SeverityName(severity);
  return std::string("<") + element + " class=\"sev-" + std::string(name) + "\">" +
         std::string(name) + "</" + element + ">";
}

// "crit since 14:05 UTC, was ok": the current status and when it began, as far as the history
// kept reaches; "" without a history.
std::string SinceHtml(const std::vector<CheckRecord>& history, double now_unix) {
  if (history.empty()) {
    return "";
  }
  const Severity current = history.back().status;
  std::size_t start = history.size() - 1;  // the first check of the current run
  while (start > 0 && history[start - 1].status == current) {
    --start;
  }
  std::string out = "<p class=\"since\">" + StatusWord(current, "strong") + " ";
  if (start > 0) {
    out += "since " + ShortTimeHtml(history[start].checked_at_unix, now_unix) + ", was " +
           StatusWord(history[start - 1].status);
  } else if (history.size() == 1) {
    out += "at the first check, " + ShortTimeHtml(history[0].checked_at_unix, now_unix);
  } else {
    out += "in all " + std::to_string(history.size()) + " checks since " +
           ShortTimeHtml(history[0].checked_at_unix, now_unix);
  }
  return out + "</p>\n";
}

// "2023-11-14 22:13:20 UTC: CRIT (1 crit, 2 warn), took 1.20 s, was OK". Numbers and fixed
// words only: nothing from the network or the config.
std::string CellTitle(const CheckRecord& record, const CheckRecord* previous) {
  std::string out =
      FormatUnixUtc(record.checked_at_unix) + ": " + Upper(SeverityName(record.status));
  std::string counts;
  const std::pair<std::size_t, const char*> by_severity[] = {
      {record.error, "error"}, {record.crit, "crit"}, {record.warn, "warn"}, {record.info, "info"}};
  for (const auto& [count, name] : by_severity) {
    if (count > 0) {
      counts += (counts.empty() ? "" : ", ") + std::to_string(count) + " " + name;
    }
  }
  out += counts.empty() ? " (nothing to fix)" : " (" + counts + ")";
  char duration[32];
  std::snprintf(duration, sizeof(duration), ", took %.2f s", record.duration_seconds);
  out += duration;
  if (previous != nullptr && previous->status != record.status) {
    out += ", was " + Upper(SeverityName(previous->status));
  }
  return out;
}

// One cell per check, oldest first; the height as well as the colour tells the status apart
// (ok low, crit and error full), and each cell's title says it in words.
void WriteHistoryStrip(std::ostringstream& out, const std::vector<CheckRecord>& history,
                       bool large) {
  out << "<div class=\"history" << (large ? " history-large" : "") << "\" data-checks=\""
      << history.size() << "\" role=\"img\" aria-label=\"status of the last " << history.size()
      << " check" << (history.size() == 1 ? "" : "s") << ", oldest first\">";
  for (std::size_t i = 0; i < history.size(); ++i) {
    out << "<span class=\"cell\" data-status=\"" << SeverityName(history[i].status) << "\" title=\""
        << CellTitle(history[i], i > 0 ? &history[i - 1] : nullptr) << "\"></span>";
  }
  out << "</div>\n";
}

// The report's strip: larger cells, the current run, and every status change with its time.
void WriteHistorySection(std::ostringstream& out, const std::vector<CheckRecord>& history,
                         double now_unix) {
  if (history.empty()) {
    return;
  }
  out << "<section id=\"history\">\n<h2>History</h2>\n" << SinceHtml(history, now_unix);
  WriteHistoryStrip(out, history, true);
  out << "<p class=\"muted\">" << history.size() << " scheduled check"
      << (history.size() == 1 ? "" : "s") << ", oldest on the left, from "
      << ShortTimeHtml(history.front().checked_at_unix, now_unix) << " to "
      << ShortTimeHtml(history.back().checked_at_unix, now_unix) << ". ";
  const std::vector<StatusChange> changes = StatusChanges(history);
  if (changes.empty()) {
    out << "No status change.</p>\n";
  } else {
    // One wrapped line rather than a list: "What to fix" stays near the top of the page.
    out << "Status changes, newest first:</p>\n<ol class=\"changes\">\n";
    for (auto it = changes.rbegin(); it != changes.rend(); ++it) {
      out << "<li class=\"change\" data-from=\"" << SeverityName(it->from) << "\" data-to=\""
          << SeverityName(it->to) << "\">" << ShortTimeHtml(it->at_unix, now_unix) << " "
          << StatusWord(it->from) << " &rarr; " << StatusWord(it->to, "strong") << "</li>\n";
    }
    out << "</ol>\n";
  }
  out << "</section>\n";
}

// What changed between the daemon's checks (posture.h), newest first. Values came from the
// network (banners, PTR names, EHLO keywords): escaped.
void WritePostureChanges(std::ostringstream& out, const PostureHistory* posture,
                         double now_unix) {
  if (posture == nullptr) {
    return;
  }
  out << "<section id=\"posture-changes\">\n<h2>Changes</h2>\n";
  if (posture->changes.empty()) {
    out << "<p class=\"no-change muted\">No change of STARTTLS, TLS version, EHLO keywords, "
           "banner name, AUTH before TLS, PTR names or MX set since tracking started "
        << ShortTimeHtml(posture->tracked_since_unix, now_unix) << ".</p>\n</section>\n";
    return;
  }
  out << "<p class=\"muted\">Seen between scheduled checks since "
      << ShortTimeHtml(posture->tracked_since_unix, now_unix) << ", newest first (at most "
      << kMaxPostureChanges << ").</p>\n"
      << "<div class=\"table-wrap\"><table class=\"posture-changes\">\n"
      << "<tr><th>When</th><th>What</th><th>Where</th><th>Before</th><th>After</th></tr>\n";
  for (auto it = posture->changes.rbegin(); it != posture->changes.rend(); ++it) {
    std::string where = it->mx;
    if (!it->ip.empty()) {
      where += (where.empty() ? "[" : " [") + it->ip + "]";
    }
    out << "<tr class=\"posture-change\" data-kind=\"" << PostureKindName(it->kind) << "\"><td>"
        << ShortTimeHtml(it->at_unix, now_unix) << "</td><td>" << Esc(PostureKindTitle(it->kind))
        << "</td><td>" << (where.empty() ? "domain" : Esc(where)) << "</td><td><code>"
        << Esc(it->before) << "</code></td><td><code>" << Esc(it->after) << "</code></td></tr>\n";
  }
  out << "</table></div>\n</section>\n";
}

void WriteHead(std::ostringstream& out, std::string_view title) {
  out << "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<meta name=\"color-scheme\" content=\"light dark\">\n"
         "<meta name=\"referrer\" content=\"no-referrer\">\n"
      << "<title>" << Esc(title) << "</title>\n<style>" << kStyle << "</style>\n</head>\n<body>\n";
}

void WriteFooter(std::ostringstream& out, const HtmlPageContext& context) {
  out << "<footer>";
  if (!context.generator.empty()) {
    out << "Generated by " << Esc(context.generator) << ". ";
  }
  out << "The probes stop at RCPT TO and never send DATA: no mail is ever delivered.</footer>\n";
}

// A finding as a list item; `with_fix` for the "What to fix" panel, the short form otherwise.
// With an `index_href`, the long form links to the overview of every domain with this code.
void WriteFinding(std::ostringstream& out, const Finding& finding, bool with_fix,
                  std::string_view index_href = "") {
  const CatalogEntry* entry = FindCatalogEntry(finding.code);
  out << "<li class=\"finding\" data-code=\"" << Esc(finding.code) << "\" data-severity=\""
      << SeverityName(finding.severity) << "\">";
  if (!with_fix) {
    out << SeverityBadge(finding.severity) << " <code>" << Esc(finding.code) << "</code> "
        << "<span class=\"subject\">" << Esc(finding.subject.Text()) << "</span>: "
        << Esc(finding.message) << "</li>\n";
    return;
  }
  out << "<p>" << SeverityBadge(finding.severity) << " <span class=\"title\">"
      << Esc(entry != nullptr ? entry->title : finding.code) << "</span> <code>"
      << Esc(finding.code) << "</code>";
  if (!index_href.empty()) {
    OverviewFilter same_code;
    same_code.code = finding.code;
    out << " <a class=\"same-code\" href=\"" << Esc(OverviewHref(index_href, same_code))
        << "\">which domains have it</a>";
  }
  out << "</p>\n"
      << "<p class=\"subject\">" << Esc(finding.subject.Text()) << "</p>\n"
      << "<p class=\"message\">" << Esc(finding.message) << "</p>\n";
  if (!finding.fix.empty()) {
    out << "<p class=\"fix\"><strong>Fix:</strong> " << EscWithCode(finding.fix) << "</p>\n";
  }
  if (!finding.rfc.empty()) {
    out << "<p class=\"rfc\">" << Esc(finding.rfc) << "</p>\n";
  }
  out << "</li>\n";
}

void WriteWhatToFix(std::ostringstream& out, const std::vector<Finding>& findings,
                    std::string_view index_href) {
  out << "<section id=\"what-to-fix\">\n<h2>What to fix</h2>\n";
  std::size_t count = 0;
  for (const auto& f : findings) count += f.severity != Severity::kOk;
  if (count == 0) {
    out << "<p class=\"all-clear\">Nothing to fix: every check passed.</p>\n";
  } else {
    out << "<ol class=\"findings\">\n";
    for (const auto& f : findings) {
      if (f.severity != Severity::kOk) {
        WriteFinding(out, f, true, index_href);
      }
    }
    out << "</ol>\n";
  }
  out << "</section>\n";
}

std::string LookupCell(const DnsLookup& lookup) {
  std::string out(DnsStatusName(lookup.status));
  if (!lookup.error.empty()) {
    out += " (" + lookup.error + ")";
  }
  return Esc(out);
}

std::string AddressCell(const std::vector<IpAddress>& addresses) {
  if (addresses.empty()) {
    return "<span class=\"muted\">none</span>";
  }
  std::string out;
  for (const auto& ip : addresses) {
    if (!out.empty()) out += "<br>";
    out += "<code>" + Esc(ip.ToString()) + "</code>";
  }
  return out;
}

void WriteDns(std::ostringstream& out, const DnsObservation& dns) {
  out << "<section id=\"dns\">\n<h2>DNS</h2>\n<dl class=\"kv\">\n";
  out << "<dt>MX lookup</dt><dd>";
  if (dns.mx.status == DnsStatus::kNotQueried) {
    out << "not queried (a single endpoint was given)";
  } else {
    out << LookupCell(dns.mx);
  }
  out << "</dd>\n<dt>DNS phase</dt><dd>" << FormatSeconds(dns.duration_seconds)
      << (dns.timed_out ? " (ran out of time before every lookup finished)" : "") << "</dd>\n";
  if (dns.null_mx) {
    out << "<dt>Null MX</dt><dd>published (RFC 7505): the domain declares it accepts no "
           "mail</dd>\n";
  }
  if (dns.null_mx_mixed) {
    out << "<dt>Null MX</dt><dd>published next to other MX records (invalid, RFC 7505 §3)</dd>\n";
  }
  if (DeriveDnsFacts(dns).implicit_lookups_made) {
    out << "<dt>Implicit MX</dt><dd>no MX records: mail goes to the domain's own A ("
        << LookupCell(dns.implicit_a) << ") and AAAA (" << LookupCell(dns.implicit_aaaa)
        << "): " << AddressCell(dns.implicit_addresses) << "</dd>\n";
  }
  out << "</dl>\n";
  if (!dns.mx_targets.empty()) {
    out << "<h3>MX records</h3>\n<div class=\"table-wrap\"><table class=\"mx\">\n"
           "<tr><th>Pref.</th><th>Target</th><th>Notes</th><th>A</th><th>AAAA</th>"
           "<th>Addresses</th></tr>\n";
    for (const auto& target : dns.mx_targets) {
      out << "<tr><td>" << target.preference << "</td><td><code>" << Esc(target.host)
          << "</code></td><td>";
      if (target.is_ip_literal) {
        out << "IP literal, not a host name";
      }
      if (!target.cname_chain.empty()) {
        out << "alias (CNAME)";
        for (std::size_t i = 1; i < target.cname_chain.size(); ++i) {
          out << " &rarr; <code>" << Esc(target.cname_chain[i]) << "</code>";
        }
      }
      // DANE (RFC 7672), when collected (test_dane): TLSA presence and DNSSEC validation.
      if (const DaneLookup& dane = target.tlsa; dane.lookup.status != DnsStatus::kNotQueried) {
        out << (target.is_ip_literal || !target.cname_chain.empty() ? "<br>" : "")
            << "DANE <code>" << Esc(dane.name) << "</code>: ";
        if (IsDnsFailure(dane.lookup.status)) {
          out << "TLSA lookup failed (" << LookupCell(dane.lookup) << ")";
        } else if (dane.records.empty()) {
          out << "no TLSA";
        } else {
          out << dane.records.size() << " TLSA ("
              << (dane.authenticated ? "DNSSEC-validated" : "<strong>not validated</strong>")
              << ")";
        }
      }
      out << "</td>";
      if (target.is_ip_literal) {
        out << "<td>-</td><td>-</td>";
      } else {
        out << "<td>" << LookupCell(target.a) << "</td><td>" << LookupCell(target.aaaa)
            << "</td>";
      }
      out << "<td>" << AddressCell(target.addresses) << "</td></tr>\n";
    }
    out << "</table></div>\n";
  }
  if (!dns.reverse.empty()) {
    out << "<h3>Reverse DNS</h3>\n<div class=\"table-wrap\"><table class=\"ptr\">\n"
           "<tr><th>Address</th><th>PTR</th><th>FCrDNS</th></tr>\n";
    for (const auto& reverse : dns.reverse) {
      out << "<tr><td><code>" << Esc(reverse.ip.ToString()) << "</code></td><td>";
      if (reverse.ptr_names.empty()) {
        out << "<span class=\"muted\">none</span> (" << LookupCell(reverse.ptr) << ")";
      } else {
        for (std::size_t i = 0; i < reverse.ptr_names.size(); ++i) {
          out << (i == 0 ? "" : "<br>") << "<code>" << Esc(reverse.ptr_names[i]) << "</code>";
        }
      }
      out << "</td><td>";
      if (!reverse.fcrdns_ok) {
        out << "<span class=\"muted\">undecided</span>";
      } else if (*reverse.fcrdns_ok) {
        out << "<span class=\"check\">ok</span> via <code>" << Esc(reverse.fcrdns_name)
            << "</code>";
      } else {
        out << "<span class=\"sev sev-warn\">MISMATCH</span>";
      }
      for (const auto& failure : reverse.fcrdns_failures) {
        out << "<br><span class=\"muted\">" << Esc(failure.name) << ": "
            << DnsStatusName(failure.lookup.status) << "</span>";
      }
      out << "</td></tr>\n";
    }
    out << "</table></div>\n";
  }
  out << "</section>\n";
}

// The findings about one endpoint: rules.cc names them "mx [ip]" or "[ip]".
std::vector<std::string> RecordsWithVersionText(const std::vector<std::string>& records,
                                                std::string_view version) {
  std::vector<std::string> out;
  for (std::string_view record : RecordsWithVersion(records, version)) {
    out.emplace_back(record);
  }
  return out;
}

std::string TxtLookupCell(const TxtLookupResult& lookup) {
  return LookupCell({lookup.status, lookup.error});
}

std::string CodeList(const std::vector<std::string>& items) {
  if (items.empty()) {
    return "<span class=\"muted\">none</span>";
  }
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += "<br>";
    out += "<code>" + Esc(item) + "</code>";
  }
  return out;
}

// The "Transport-security policy" block: MTA-STS (RFC 8461) and TLS-RPT (RFC 8460), when the
// check collected them. Every value came from the network: escaped.
void WritePolicies(std::ostringstream& out, const DomainObservation& domain) {
  if (!domain.mta_sts && !domain.tls_rpt) {
    return;
  }
  out << "<section id=\"policies\">\n<h2>Transport-security policy</h2>\n<dl class=\"kv\">\n";
  if (const auto& m = domain.mta_sts) {
    out << "<dt>MTA-STS record</dt><dd>" << TxtLookupCell(m->record_lookup);
    if (m->record_count > 0) {
      out << ": " << CodeList(RecordsWithVersionText(m->record_lookup.records, "v=STSv1"));
    }
    if (!m->record_error.empty()) {
      out << "<br>" << Esc(m->record_error);
    }
    out << "</dd>\n";
    if (m->fetch_status != PolicyFetchStatus::kNotAttempted) {
      out << "<dt>MTA-STS policy</dt><dd><code>https://" << Esc(m->policy_host)
          << "/.well-known/mta-sts.txt</code>: " << Esc(PolicyFetchStatusName(m->fetch_status));
      if (m->http_status != 0) {
        out << " (HTTP " << m->http_status << ")";
      }
      if (!m->fetch_error.empty()) {
        out << "<br>" << Esc(m->fetch_error);
      }
      out << "</dd>\n";
    }
    if (m->policy) {
      out << "<dt>Policy mode</dt><dd><code>" << Esc(MtaStsModeName(m->policy->mode))
          << "</code></dd>\n<dt>Policy mx patterns</dt><dd>" << CodeList(m->policy->mx)
          << "</dd>\n<dt>Policy max_age</dt><dd>" << m->policy->max_age_seconds << " s</dd>\n";
    }
  }
  if (const auto& t = domain.tls_rpt) {
    out << "<dt>TLS-RPT record</dt><dd>" << TxtLookupCell(t->record_lookup);
    if (t->record_count > 0) {
      out << ": " << CodeList(RecordsWithVersionText(t->record_lookup.records, "v=TLSRPTv1"));
    }
    if (!t->record_error.empty()) {
      out << "<br>" << Esc(t->record_error);
    }
    out << "</dd>\n";
  }
  out << "</dl>\n</section>\n";
}

bool IsAboutEndpoint(const Finding& finding, const EndpointObservation& endpoint) {
  return finding.subject.IsAbout(endpoint.ip, endpoint.port);
}

bool HasProblem(const std::vector<const Finding*>& findings, std::string_view code) {
  return std::any_of(findings.begin(), findings.end(), [&](const Finding* f) {
    return f->code == code && f->severity != Severity::kOk;
  });
}

std::string Badge(std::string_view kind, std::string_view name, std::string_view text) {
  return "<span class=\"badge badge-" + std::string(kind) + "\" data-badge=\"" +
         std::string(name) + "\">" + Esc(text) + "</span>";
}

// The badge colour of a problem: the severity the rules gave its finding on this endpoint, so
// the page never paints a verdict of its own (an unreachable endpoint is WARN when another
// endpoint works). Neutral when no finding says (its rule is disabled).
std::string_view ProblemKind(const std::vector<const Finding*>& own, std::string_view code) {
  Severity worst = Severity::kOk;
  bool found = false;
  for (const Finding* f : own) {
    if (f->code == code && f->severity != Severity::kOk) {
      worst = std::max(worst, f->severity);
      found = true;
    }
  }
  if (!found) {
    return "neutral";
  }
  return worst == Severity::kError ? std::string_view("crit") : SeverityName(worst);
}

std::string EndpointBadges(const EndpointObservation& e, const std::vector<const Finding*>& own) {
  std::string out;
  if (e.connect_status == ConnectStatus::kConnected) {
    out += Badge("ok", "reachable", "reachable");
  } else if (e.connect_status == ConnectStatus::kNoRoute) {
    // The exporter's own host has no route to this family: says nothing about the server.
    out += Badge("neutral", "no-route", "no route from the exporter");
  } else {
    out += Badge(ProblemKind(own, "smtp.tcp.unreachable"), "unreachable",
                 std::string(ConnectStatusName(e.connect_status)));
  }
  out += Badge("neutral", "family", e.family() == IpFamily::kV6 ? "IPv6" : "IPv4");
  if (e.esmtp) {
    out += Badge("ok", "esmtp", "ESMTP");
  } else if (e.helo_fallback) {
    out += Badge(ProblemKind(own, "smtp.ehlo.helo_fallback"), "helo-only", "HELO only");
  }
  if (e.starttls.ok) {
    out += Badge("ok", "starttls", "STARTTLS " + e.starttls.tls.version);
  } else if (e.starttls.offered) {
    out += Badge(ProblemKind(own, "smtp.starttls.failed"), "starttls-failed", "STARTTLS failed");
  } else if (e.esmtp) {
    out += Badge(ProblemKind(own, "smtp.starttls.missing"), "no-starttls", "no STARTTLS");
  }
  if (HasProblem(own, "smtp.auth.plaintext")) {
    out += Badge("crit", "auth-plaintext", "AUTH over plaintext");
  }
  if (HasProblem(own, "smtp.open_relay")) {
    out += Badge("crit", "open-relay", "OPEN RELAY");
  }
  return out;
}

std::string ExtensionCell(const ExtensionSet& set, std::string_view keyword) {
  const Extension* extension = set.Find(keyword);
  if (extension == nullptr) {
    return "<span class=\"cross\">&mdash;</span>";
  }
  std::string out = "<span class=\"check\">&#10003;</span>";
  if (!extension->params.empty()) {
    out += " <code>" + Esc(extension->params) + "</code>";
  }
  return out;
}

void WriteExtensions(std::ostringstream& out, const EndpointObservation& e) {
  const ExtensionSet all = e.ExtensionsUnion();
  if (all.empty()) {
    out << "<p class=\"muted\">No extensions advertised.</p>\n";
    return;
  }
  out << "<div class=\"table-wrap\"><table class=\"extensions\">\n<tr><th>Extension</th>"
         "<th>Before STARTTLS</th><th>After STARTTLS</th></tr>\n";
  for (const auto& item : all.items()) {
    out << "<tr><td><code>" << Esc(item.keyword) << "</code></td><td>"
        << ExtensionCell(e.extensions_plain, item.keyword) << "</td><td>"
        << (e.starttls.ok ? ExtensionCell(e.extensions_tls, item.keyword)
                          : "<span class=\"muted\">n/a</span>")
        << "</td></tr>\n";
  }
  out << "</table></div>\n";
}

std::string ReplyText(const Reply& reply) {
  std::string out;
  for (const auto& line : reply.lines) {
    if (!out.empty()) out += '\n';
    out += line;
  }
  return out;
}

void WriteTransactionProbes(std::ostringstream& out, const EndpointObservation& e) {
  const bool any = e.transactions_channel != TransactionChannel::kNone ||
                   e.null_sender.outcome != ProbeOutcome::kNotTested ||
                   e.postmaster.outcome != ProbeOutcome::kNotTested ||
                   e.open_relay.outcome != ProbeOutcome::kNotTested;
  if (!any) {
    return;
  }
  out << "<h3>Transaction probes</h3>\n<p class=\"muted\">Over "
      << Esc(TransactionChannelName(e.transactions_channel))
      << (e.transactions_pipelined ? ", pipelined (RFC 2920: sent as one group)" : "")
      << "; each stops at RCPT TO, DATA is never sent."
      << (e.session_domains > 1 ? " Shared: " + Esc(SharedSessionSummary(e)) +
                                      "; the transcript leaves out the other domains' recipients."
                                : "")
      << "</p>\n"
         "<div class=\"table-wrap\"><table class=\"transactions\">\n"
         "<tr><th>Probe</th><th>Outcome</th><th>Commands and replies</th></tr>\n";
  const std::pair<std::string, const TransactionProbe*> probes[] = {
      {"null sender (MAIL FROM:<>)", &e.null_sender},
      {"postmaster", &e.postmaster},
      {"open relay (RCPT TO:<" + e.probe_recipient + ">)", &e.open_relay},
  };
  for (const auto& [name, probe] : probes) {
    out << "<tr><td>" << Esc(name) << "</td><td>" << Esc(ProbeOutcomeName(probe->outcome));
    if (!probe->detail.empty()) {
      out << "<br><span class=\"muted\">" << Esc(probe->detail) << "</span>";
    }
    out << "</td><td>";
    if (!probe->steps.empty()) {
      std::string text;
      for (const auto& step : probe->steps) {
        text += "C: " + step.command + "\n";
        if (step.reply) {
          for (const auto& line : step.reply->lines) text += "S: " + line + "\n";
        } else {
          text += "!  " + step.error + "\n";
        }
      }
      out << "<pre class=\"steps\">" << Esc(text) << "</pre>";
    }
    out << "</td></tr>\n";
  }
  out << "</table></div>\n";
}

void WriteTiming(std::ostringstream& out, const EndpointObservation& e) {
  double total = 0;
  for (const auto& p : e.phases) {
    if (p.phase != "total") total += p.seconds;
  }
  if (e.phases.empty()) {
    return;
  }
  out << "<h3>Timing</h3>\n";
  if (total > 0) {
    out << "<div class=\"timing\" role=\"img\" aria-label=\"time per phase\">";
    int index = 0;
    for (const auto& p : e.phases) {
      if (p.phase == "total") continue;
      char width[32];
      std::snprintf(width, sizeof(width), "%.2f", 100.0 * p.seconds / total);
      out << "<span class=\"ph-" << (index++ % 7) << "\" style=\"width:" << width
          << "%\" title=\"" << Esc(p.phase) << " " << FormatSeconds(p.seconds) << "\"></span>";
    }
    out << "</div>\n";
  }
  out << "<p class=\"legend\">";
  int index = 0;
  for (const auto& p : e.phases) {
    if (p.phase == "total") {
      out << "<span><strong>total " << FormatSeconds(p.seconds) << "</strong></span>";
      continue;
    }
    out << "<span><i class=\"ph-" << (index++ % 7) << "\"></i>" << Esc(p.phase) << " "
        << FormatSeconds(p.seconds) << "</span>";
  }
  out << "</p>\n";
}

void WriteTranscript(std::ostringstream& out, const EndpointObservation& e) {
  out << "<h3>Transcript</h3>\n<pre class=\"transcript\">";
  std::string text;
  for (const auto& entry : e.transcript) {
    char stamp[32];
    std::snprintf(stamp, sizeof(stamp), "%8.3f ", entry.at_seconds);
    text += stamp;
    text += entry.direction == TranscriptEntry::Direction::kClient   ? "C: "
            : entry.direction == TranscriptEntry::Direction::kServer ? "S: "
                                                                     : "*  ";
    text += entry.text;
    text += '\n';
  }
  out << Esc(text) << "</pre>\n";
}

void WriteHostNotes(std::ostringstream& out, const HostNotes& notes) {
  out << "<section class=\"mx-notes\" data-source=\"" << Esc(notes.source) << "\">\n<h3>"
      << Esc(notes.title) << "</h3>\n<dl class=\"kv\">\n";
  for (const auto& [label, value] : notes.rows) {
    out << "<dt>" << Esc(label) << "</dt><dd>" << Esc(value) << "</dd>\n";
  }
  out << "</dl>\n</section>\n";
}

void WriteEndpoint(std::ostringstream& out, const EndpointObservation& e,
                   const std::vector<Finding>& findings, const HostNotes* notes) {
  std::vector<const Finding*> own;
  Severity worst = Severity::kOk;
  for (const auto& f : findings) {
    if (IsAboutEndpoint(f, e)) {
      own.push_back(&f);
      worst = std::max(worst, f.severity);
    }
  }
  const bool open = worst >= Severity::kWarn;
  out << "<details class=\"endpoint\" data-ip=\"" << Esc(e.ip.ToString()) << "\" data-mx=\""
      << Esc(e.mx_name) << "\" data-status=\"" << SeverityName(worst) << "\""
      << (open ? " open" : "") << ">\n<summary>" << SeverityBadge(worst) << " ";
  if (!e.mx_name.empty()) {
    out << Esc(e.mx_name) << " ";
  }
  out << "<code>" << Esc(e.ip.ToString()) << "</code> port " << e.port << " " << EndpointBadges(e, own)
      << "</summary>\n<div class=\"body\">\n<dl class=\"kv\">\n<dt>Connection</dt><dd>"
      << Esc(ConnectStatusName(e.connect_status));
  if (!e.connect_error.empty()) {
    out << " (" << Esc(e.connect_error) << ")";
  }
  out << "</dd>\n";
  if (e.greeting) {
    out << "<dt>Greeting</dt><dd>" << e.greeting->code << ", announces <code>"
        << Esc(e.announced_hostname) << "</code>"
        << (e.greeting_mentions_esmtp ? ", mentions ESMTP" : "") << "</dd>\n";
  }
  if (e.ehlo) {
    out << "<dt>EHLO</dt><dd>" << e.ehlo->code << (e.esmtp ? " (ESMTP)" : " (refused)")
        << "</dd>\n";
  }
  if (e.helo) {
    out << "<dt>HELO fallback</dt><dd>" << e.helo->code
        << (e.helo_fallback ? " (accepted)" : " (refused)") << "</dd>\n";
  }
  if (e.esmtp || e.starttls.offered) {
    out << "<dt>STARTTLS</dt><dd>";
    if (!e.starttls.offered) {
      out << "not offered";
    } else if (e.starttls.ok) {
      const TlsDetails& tls = e.starttls.tls;
      out << Esc(tls.version) << ", " << Esc(tls.cipher) << "<br>certificate (not verified): "
          << "<code>" << Esc(tls.peer_subject) << "</code>";
      for (const auto& name : tls.peer_dns_names) out << " <code>" << Esc(name) << "</code>";
      if (tls.peer_not_after_unix) {
        out << ", not after " << FormatUnixUtc(static_cast<double>(*tls.peer_not_after_unix));
      }
    } else {
      out << "<strong>failed</strong>: " << Esc(e.starttls.error);
    }
    if (e.starttls.plaintext_bytes_discarded > 0) {
      out << "<br>" << e.starttls.plaintext_bytes_discarded
          << " plaintext bytes sent after the 220 were discarded (RFC 3207 §5)";
    }
    out << "</dd>\n";
  }
  if (e.esmtp) {
    out << "<dt>AUTH before TLS</dt><dd>"
        << (e.auth_before_tls ? "<strong>yes</strong>: credentials could cross in plaintext"
                              : "no")
        << "</dd>\n";
  }
  for (const auto& violation : e.protocol_violations) {
    out << "<dt>Protocol violation</dt><dd>" << Esc(violation) << "</dd>\n";
  }
  if (!e.limit_exceeded.empty()) {
    out << "<dt>Safety limit</dt><dd>" << Esc(e.limit_exceeded) << "</dd>\n";
  }
  if (!e.session_error.empty()) {
    out << "<dt>Session ended early</dt><dd>" << Esc(e.session_error) << "</dd>\n";
  }
  out << "</dl>\n";
  if (e.greeting) {
    out << "<h3>Banner</h3>\n<pre class=\"banner\">" << Esc(ReplyText(*e.greeting)) << "</pre>\n";
  }
  if (e.esmtp) {
    out << "<h3>Extensions</h3>\n";
    WriteExtensions(out, e);
  }
  WriteTransactionProbes(out, e);
  if (notes != nullptr) {
    WriteHostNotes(out, *notes);
  }
  if (!own.empty()) {
    out << "<h3>Findings for this endpoint</h3>\n<ul class=\"findings\">\n";
    for (const Finding* f : own) WriteFinding(out, *f, false);
    out << "</ul>\n";
  }
  WriteTiming(out, e);
  WriteTranscript(out, e);
  out << "</div>\n</details>\n";
}

void WriteEndpoints(std::ostringstream& out, const DomainObservation& domain,
                    const std::vector<Finding>& findings,
                    const std::map<std::string, HostNotes>& mx_notes) {
  out << "<section id=\"endpoints\">\n<h2>Endpoints (" << domain.endpoints.size() << ")</h2>\n";
  if (domain.endpoints.empty()) {
    out << "<p class=\"muted\">No endpoint was probed.</p>\n";
  }
  if (domain.plan.dropped_over_cap > 0) {
    out << "<p class=\"muted\">" << domain.plan.dropped_over_cap
        << " more addresses were left out: the plan is capped.</p>\n";
  }
  for (const auto& endpoint : domain.endpoints) {
    const auto notes = mx_notes.find(NormaliseHostName(endpoint.mx_name));
    WriteEndpoint(out, endpoint, findings, notes == mx_notes.end() ? nullptr : &notes->second);
  }
  out << "</section>\n";
}

// What the AUTH line of one EHLO stage said, for the submission block.
std::string AuthCell(const ExtensionSet& extensions) {
  if (!extensions.Has("AUTH")) {
    return "not offered";
  }
  const std::vector<std::string> mechanisms = extensions.AuthMechanisms();
  return mechanisms.empty() ? "offered, no mechanism listed" : CodeList(mechanisms);
}

// The message submission sessions (option `submission`, RFC 8314), one block per (host,
// address, port), badged with the worst of the rule smtp.submission's findings on it. Every
// value came from the network: escaped (CodeList and WriteTranscript escape).
void WriteSubmission(std::ostringstream& out, const DomainObservation& domain,
                     const std::vector<Finding>& findings) {
  if (domain.submission.empty() && domain.submission_host_error.empty()) {
    return;
  }
  out << "<section id=\"submission\">\n<h2>Submission ports (" << domain.submission.size()
      << ")</h2>\n";
  if (!domain.submission_host_error.empty()) {
    out << "<p>" << Esc(domain.submission_host_error) << "</p>\n";
  }
  for (const EndpointObservation& e : domain.submission) {
    Severity worst = Severity::kOk;
    for (const auto& f : findings) {
      if (f.rule == "smtp.submission" && IsAboutEndpoint(f, e)) {
        worst = std::max(worst, f.severity);
      }
    }
    const bool implicit_tls = e.service == EndpointService::kSubmissions;
    out << "<details class=\"endpoint submission\" data-ip=\"" << Esc(e.ip.ToString())
        << "\" data-port=\"" << e.port << "\" data-status=\"" << SeverityName(worst) << "\""
        << (worst >= Severity::kWarn ? " open" : "") << ">\n<summary>" << SeverityBadge(worst)
        << " " << Esc(e.mx_name) << " <code>" << Esc(e.ip.ToString()) << "</code> port " << e.port
        << (implicit_tls ? " (implicit TLS)" : " (STARTTLS)")
        << "</summary>\n<div class=\"body\">\n<dl class=\"kv\">\n<dt>Connection</dt><dd>"
        << Esc(ConnectStatusName(e.connect_status));
    if (!e.connect_error.empty()) {
      out << " (" << Esc(e.connect_error) << ")";
    }
    out << "</dd>\n<dt>TLS</dt><dd>";
    if (e.starttls.ok) {
      out << Esc(e.starttls.tls.version) << " " << Esc(e.starttls.tls.cipher);
    } else if (!implicit_tls && !e.starttls.offered) {
      out << "STARTTLS not offered";
    } else {
      out << "failed" << (e.starttls.error.empty() ? "" : ": " + Esc(e.starttls.error));
    }
    out << "</dd>\n";
    if (!implicit_tls && e.esmtp) {
      out << "<dt>AUTH before TLS</dt><dd>" << AuthCell(e.extensions_plain) << "</dd>\n";
    }
    if (e.starttls.ok && e.tls_ehlo) {
      out << "<dt>AUTH over TLS</dt><dd>" << AuthCell(e.extensions_tls) << "</dd>\n";
    }
    out << "</dl>\n";
    WriteTranscript(out, e);
    out << "</div>\n</details>\n";
  }
  out << "</section>\n";
}

void WritePassed(std::ostringstream& out, const std::vector<Finding>& findings) {
  std::size_t count = 0;
  for (const auto& f : findings) count += f.severity == Severity::kOk;
  out << "<details id=\"passed-checks\">\n<summary>Passed checks (" << count
      << ")</summary>\n<div class=\"body\"><ul class=\"findings\">\n";
  for (const auto& f : findings) {
    if (f.severity == Severity::kOk) {
      WriteFinding(out, f, false);
    }
  }
  out << "</ul></div>\n</details>\n";
}

int StatusRank(const IndexRow& row) { return row.checked ? static_cast<int>(row.status) : -1; }

}  // namespace

std::string RenderReportHtml(const DomainObservation& domain, const std::vector<Finding>& findings,
                             Severity status, const HtmlPageContext& context) {
  const std::string name = domain.domain.empty() ? domain.dns.domain : domain.domain;
  const std::string status_name(SeverityName(status));
  std::ostringstream out;
  WriteHead(out, Upper(status_name) + " " + name + " - smtp_exporter");
  out << "<main id=\"report\" data-domain=\"" << Esc(name) << "\" data-status=\"" << status_name
      << "\">\n<header>\n";
  if (!context.index_href.empty()) {
    OverviewFilter same_status;
    same_status.status = status_name;
    out << "<p class=\"meta\"><a href=\"" << Esc(context.index_href)
        << "\">&larr; all domains</a><a class=\"overview-status\" href=\""
        << Esc(OverviewHref(context.index_href, same_status)) << "\">every " << Upper(status_name)
        << " domain</a></p>\n";
  }
  out << "<h1>" << SeverityBadge(status, " status-big") << " " << Esc(name) << "</h1>\n"
      << "<p class=\"meta\">"
      << (context.restored ? "<span class=\"restored\"><strong>restored from disk</strong>, "
                             "checked at "
                           : "<span>checked ")
      << TimeWithRelative(domain.started_at_unix, context.now_unix) << "</span><span>took "
      << FormatSeconds(domain.duration_seconds) << "</span><span>" << domain.endpoints.size()
      << " endpoint" << (domain.endpoints.size() == 1 ? "" : "s") << "</span>";
  if (context.next_check_unix > 0) {
    out << "<span>next check " << TimeWithRelative(context.next_check_unix, context.now_unix)
        << "</span>";
  }
  out << "</p>\n";
  if (!context.json_href.empty() || !context.metrics_href.empty()) {
    out << "<p class=\"meta\">";
    if (!context.json_href.empty()) {
      out << "<span><a href=\"" << Esc(context.json_href) << "\">JSON</a></span>";
    }
    if (!context.metrics_href.empty()) {
      out << "<span><a href=\"" << Esc(context.metrics_href) << "\">metrics</a></span>";
    }
    out << "</p>\n";
  }
  out << "</header>\n";
  WriteHistorySection(out, context.history, context.now_unix);
  WriteWhatToFix(out, findings, context.index_href);
  WritePostureChanges(out, context.posture, context.now_unix);
  WriteDns(out, domain.dns);
  WritePolicies(out, domain);
  WriteEndpoints(out, domain, findings, context.mx_notes);
  WriteSubmission(out, domain, findings);
  WritePassed(out, findings);
  WriteFooter(out, context);
  out << "</main>\n</body>\n</html>\n";
  return out.str();
}

std::string RenderIndexHtml(const std::vector<IndexRow>& rows, const OverviewFilter& filter,
                            const HtmlPageContext& context) {
  // Pointers, not copies: a row carries its problems and history, and 1 000 of them are sorted
  // per request.
  std::vector<const IndexRow*> sorted;
  sorted.reserve(rows.size());
  for (const auto& row : rows) {
    sorted.push_back(&row);
  }
  std::stable_sort(sorted.begin(), sorted.end(), [](const IndexRow* a, const IndexRow* b) {
    if (StatusRank(*a) != StatusRank(*b)) {
      return StatusRank(*a) > StatusRank(*b);
    }
    return a->domain < b->domain;
  });
  std::size_t by_status[5] = {0, 0, 0, 0, 0};
  std::size_t pending = 0;
  for (const auto& row : rows) {
    if (row.checked) {
      ++by_status[static_cast<int>(row.status)];
    } else {
      ++pending;
    }
  }
  std::vector<const IndexRow*> shown;
  shown.reserve(sorted.size());
  for (const IndexRow* row : sorted) {
    if (MatchesFilter(*row, filter)) {
      shown.push_back(row);
    }
  }
  const std::string& index = context.index_href.empty() ? std::string("/") : context.index_href;
  auto filtered_href = [&](std::string status, std::string code, std::string query) {
    OverviewFilter f;
    f.status = std::move(status);
    f.code = std::move(code);
    f.query = std::move(query);
    return Esc(OverviewHref(index, f));
  };

  std::ostringstream out;
  WriteHead(out, "smtp_exporter");
  out << "<main id=\"index\" data-shown=\"" << shown.size() << "\" data-total=\"" << rows.size()
      << "\">\n<header>\n<h1>smtp_exporter</h1>\n<p class=\"meta\" id=\"status-summary\">"
      << rows.size() << " domain" << (rows.size() == 1 ? "" : "s") << ":";
  for (int s = static_cast<int>(Severity::kError); s >= 0; --s) {
    if (by_status[s] > 0) {
      const std::string_view name = SeverityName(static_cast<Severity>(s));
      out << " <a class=\"status-link\" data-status=\"" << name << "\" href=\""
          << filtered_href(std::string(name), "", "") << "\">" << by_status[s] << " "
          << SeverityBadge(static_cast<Severity>(s)) << "</a>";
    }
  }
  if (pending > 0) {
    out << " <a class=\"status-link\" data-status=\"pending\" href=\""
        << filtered_href("pending", "", "") << "\">" << pending
        << " <span class=\"sev sev-pending\">PENDING</span></a>";
  }
  out << "</p>\n";
  if (!context.metrics_href.empty()) {
    out << "<p class=\"meta\"><a href=\"" << Esc(context.metrics_href) << "\">metrics</a></p>\n";
  }
  out << "</header>\n";

  // What is broken across every domain, whatever the filter: the way into a filtered view.
  const std::vector<CodeSummary> codes = SummariseCodes(rows);
  out << "<section id=\"problems\">\n<h2>Active findings</h2>\n";
  if (codes.empty()) {
    out << "<p class=\"all-clear\">No domain has an active finding.</p>\n";
  } else {
    out << "<ul class=\"codes\">\n";
    for (const auto& code : codes) {
      out << "<li class=\"code\" data-code=\"" << Esc(code.code) << "\" data-severity=\""
          << SeverityName(code.severity) << "\" data-domains=\"" << code.domains << "\"><a href=\""
          << filtered_href("", code.code, "") << "\""
          << (code.code == filter.code ? " aria-current=\"true\"" : "") << ">"
          << SeverityBadge(code.severity) << " " << code.domains << " domain"
          << (code.domains == 1 ? "" : "s") << ": " << Esc(code.title) << "</a></li>\n";
    }
    out << "</ul>\n";
  }
  out << "</section>\n";

  if (filter.active()) {
    out << "<section id=\"filter\" data-status=\"" << Esc(filter.status) << "\" data-code=\""
        << Esc(filter.code) << "\" data-q=\"" << Esc(filter.query) << "\">\n<p>Showing "
        << shown.size() << " of " << rows.size() << " domain" << (rows.size() == 1 ? "" : "s")
        << ", only those with ";
    if (!filter.status.empty()) {
      out << "<span class=\"filter\" data-filter=\"status\">status <strong>" << Esc(filter.status)
          << "</strong> <a class=\"remove\" href=\"" << filtered_href("", filter.code, filter.query)
          << "\">(remove)</a></span>";
    }
    if (!filter.code.empty()) {
      const CatalogEntry* entry = FindCatalogEntry(filter.code);
      out << "<span class=\"filter\" data-filter=\"code\">the finding <code>" << Esc(filter.code)
          << "</code> "
          << (entry != nullptr ? "(" + Esc(entry->short_title) + ")"
                               : std::string("(not a finding code: matches nothing)"))
          << " <a class=\"remove\" href=\"" << filtered_href(filter.status, "", filter.query)
          << "\">(remove)</a></span>";
    }
    if (!filter.query.empty()) {
      out << "<span class=\"filter\" data-filter=\"q\">a name containing <strong>"
          << Esc(filter.query) << "</strong> <a class=\"remove\" href=\""
          << filtered_href(filter.status, filter.code, "") << "\">(remove)</a></span>";
    }
    out << " <a class=\"clear\" href=\"" << Esc(index) << "\">Show all domains</a></p>\n"
        << "</section>\n";
  }

  out << "<h2>Domains</h2>\n<div class=\"table-wrap\"><table id=\"domains\">\n"
         "<thead><tr><th>Status</th><th>Domain</th><th>What is wrong</th><th>History</th>"
         "<th>Last check</th></tr></thead>\n<tbody>\n";
  for (const IndexRow* row_pointer : shown) {
    const IndexRow& row = *row_pointer;
    const std::string status = row.checked ? std::string(SeverityName(row.status)) : "pending";
    out << "<tr class=\"domain\" data-domain=\"" << Esc(row.domain) << "\" data-status=\"" << status
        << (row.restored ? "\" data-restored=\"true" : "") << "\"><td>"
        << (row.checked ? SeverityBadge(row.status)
                        : std::string("<span class=\"sev sev-pending\">PENDING</span>"))
        << "</td><td>";
    if (row.checked && !row.report_href.empty()) {
      out << "<a href=\"" << Esc(row.report_href) << "\">" << Esc(row.domain) << "</a>";
    } else {
      out << Esc(row.domain);
    }
    if (row.checked) {
      out << "<br><span class=\"muted\">" << row.endpoints << " endpoint"
          << (row.endpoints == 1 ? "" : "s") << "</span>";
      if (!row.json_href.empty()) {
        out << " <a class=\"muted\" href=\"" << Esc(row.json_href) << "\">json</a>";
      }
    }
    out << "</td><td>";
    if (row.checked) {
      if (!row.problems.empty()) {
        out << "<ul class=\"problems\">";
        for (const auto& line : row.problems) {
          out << "<li class=\"problem\" data-code=\"" << Esc(line.code) << "\" data-severity=\""
              << SeverityName(line.severity) << "\"";
          // Grouped lines name their endpoints on hover.
          if (line.grouped_endpoints) {
            std::string all;
            for (const auto& subject : line.subjects) {
              all += (all.empty() ? "" : ", ") + subject.Text();
            }
            out << " title=\"" << Esc(all) << "\"";
          }
          out << ">" << SeverityBadge(line.severity) << " <span class=\"what\">" << Esc(line.title)
              << "</span>";
          const std::string where = ProblemWhere(line);
          if (!where.empty()) {
            out << "<span class=\"where\">" << Esc(where) << "</span>";
          }
          out << "</li>";
        }
        out << "</ul>";
      }
      out << "<span class=\"counts\">";
      if (row.error > 0) {
        out << "<span class=\"sev-error\">" << row.error << " error</span>";
      }
      if (row.crit > 0) {
        out << "<span class=\"sev-crit\">" << row.crit << " crit</span>";
      }
      if (row.warn > 0) {
        out << "<span class=\"sev-warn\">" << row.warn << " warn</span>";
      }
      if (row.info > 0) {
        out << "<span class=\"sev-info\">" << row.info << " info</span>";
      }
      if (row.error + row.crit + row.warn + row.info == 0) {
        out << "<span class=\"check\">nothing to fix</span>";
      }
      out << "</span>";
    }
    out << "</td><td>";
    if (!row.history.empty()) {
      WriteHistoryStrip(out, row.history, false);
      out << SinceHtml(row.history, context.now_unix);
    }
    out << "</td><td>";
    if (row.checked && row.restored) {
      out << "<span class=\"restored\"><strong>restored from disk</strong>, checked at</span> ";
    }
    out << (row.checked ? TimeWithRelative(row.checked_at_unix, context.now_unix) : "-");
    if (row.next_check_unix > 0) {
      out << "<br><span class=\"muted\">next "
          << TimeWithRelative(row.next_check_unix, context.now_unix) << "</span>";
    }
    out << "</td></tr>\n";
  }
  out << "</tbody></table></div>\n";
  if (shown.empty()) {
    out << "<p class=\"no-match\">No domain matches this filter. <a href=\"" << Esc(index)
        << "\">Show all domains</a></p>\n";
  }
  WriteFooter(out, context);
  out << "</main>\n</body>\n</html>\n";
  return out.str();
}

}  // namespace smtp_exporter
