// The endpoint rules: smtp.endpoint_reachable (TCP and the session as a whole),
// smtp.banner_sanity, smtp.ehlo_supported, smtp.reverse_dns and smtp.ipv6_reachable.
//
// Each endpoint rule judges only what its gate lets it see, so that a dead endpoint gets its
// reachability finding and nothing else (no cascade): TCP first, then the 220 greeting, then
// EHLO/HELO (facts.h: Works, ReachedHello).
#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/domain_name.h"
#include "exporter/check/rule_functions.h"
#include "config/base/result.h"

namespace smtp_exporter {
namespace {

bool Judged(const RuleContext& context) { return !context.facts.dns.null_mx; }

// The session-level findings of one connected endpoint: our safety bounds and the protocol
// deviations seen on the way.
void EvaluateBounds(const EndpointObservation& e, const Subject& subject, FindingSink& out) {
  if (!e.limit_exceeded.empty()) {
    // WARN, not CRIT (the catalog's default, kept on review): the bounds are this exporter's
    // safety limits, wider than RFC 5321 §4.5.3.1 where it sets any (it sets none on the
    // number of reply lines), so breaking one shows a broken server or middlebox but does not
    // prove that senders fail. What it costs is said: nothing later in the session was judged.
    out.Fail("smtp.limits.exceeded", subject,
             "the session was abandoned: " + Truncate(e.limit_exceeded) +
                 "; the checks after that point have no verdict");
  } else {
    out.Pass("smtp.limits.exceeded", subject, "the server stayed within the protocol bounds");
  }
  // Non-fatal deviations get their own INFO code: unlike a broken bound they did not stop us.
  if (!e.protocol_violations.empty()) {
    out.Fail("smtp.protocol.violation", subject, Join(e.protocol_violations, "; "));
  } else {
    out.Pass("smtp.protocol.violation", subject, "no protocol deviation seen");
  }
}

// The transaction probes the options asked for that reached no verdict.
std::string NoVerdictList(const EndpointObservation& e, const CheckOptions& options) {
  std::vector<std::string> names;
  if (options.test_null_sender && e.null_sender.outcome == ProbeOutcome::kError) {
    names.emplace_back("null sender");
  }
  if (options.test_postmaster && e.postmaster.outcome == ProbeOutcome::kError) {
    names.emplace_back("postmaster");
  }
  if (options.test_open_relay && e.open_relay.outcome == ProbeOutcome::kError) {
    names.emplace_back("open relay");
  }
  return names.empty() ? "" : "; no verdict for: " + Join(names, ", ");
}

// Temporary and inconclusive answers of the transaction probes: not a verdict on the server's
// posture (RFC 5321 §4.2.1: 4yz is transient), so they belong to the session, not to the
// posture rules (smtp.null_sender, smtp.postmaster, smtp.open_relay).
void EvaluateProbeAnswers(const EndpointObservation& e, const CheckOptions& options,
                          const Subject& subject, FindingSink& out) {
  struct Probe {
    bool enabled;
    const TransactionProbe* probe;
    std::string_view name;
  };
  const Probe probes[] = {
      {options.test_null_sender, &e.null_sender, "null-sender probe"},
      {options.test_postmaster, &e.postmaster, "postmaster probe"},
      {options.test_open_relay, &e.open_relay, "open-relay probe"},
  };
  for (const auto& p : probes) {
    if (!p.enabled) {
      continue;
    }
    if (p.probe->outcome == ProbeOutcome::kTemporary) {
      out.Fail("smtp.probe.temporary", subject,
               std::string(p.name) + ": " + TransactionVerdictText(*p.probe) +
                   "; a temporary answer is not judged");
    } else if (p.probe->outcome == ProbeOutcome::kError && e.session_error.empty()) {
      // With the session over, smtp.session.aborted lists the probes without a verdict.
      out.Fail("smtp.probe.inconclusive", subject,
               std::string(p.name) + " reached no verdict: " + Truncate(p.probe->detail));
    }
  }
}

void EvaluateEndpointSession(const RuleContext& context, std::size_t index, FindingSink& out) {
  const EndpointObservation& e = context.obs.endpoints[index];
  const Subject subject = EndpointSubject(e);
  if (e.connect_status == ConnectStatus::kNotAttempted) {
    return;
  }
  if (NotJudged(e)) {
    // INFO: visible, but a monitor without IPv6 must not turn every dual-stack domain WARN.
    out.Fail("smtp.tcp.unreachable", Severity::kInfo, subject,
             "not judged: the exporter's own host has no route to " + e.ip.ToString() + " (" +
                 Truncate(e.connect_error) +
                 "), so no connection was tried; give it one (for IPv6, a default route) to "
                 "check this endpoint");
    return;
  }
  const std::string port = std::to_string(e.port);
  if (e.connect_status != ConnectStatus::kConnected) {
    const bool other_works = context.facts.another_endpoint_works[index];
    std::string text = "TCP connection to " + e.ip.ToString() + " port " + port +
                       " failed: " + std::string(ConnectStatusName(e.connect_status));
    if (!e.connect_error.empty()) {
      text += " (" + Truncate(e.connect_error) + ")";
    }
    if (e.family() == IpFamily::kV6 && e.connect_status == ConnectStatus::kUnreachable) {
      text += "; this also happens when the exporter's own host has no IPv6 route";
    }
    if (other_works) {
      text += "; other endpoints of the domain work, so senders fall back to them";
    }
    out.Fail("smtp.tcp.unreachable", other_works ? Severity::kWarn : Severity::kCrit, subject,
             std::move(text));
    return;  // no cascade: nothing else is known about this endpoint
  }
  out.Pass("smtp.tcp.unreachable", subject, "port " + port + " accepts TCP connections");
  EvaluateBounds(e, subject, out);
  if (!Works(e)) {
    return;  // smtp.banner_sanity judges the greeting
  }
  if (!ReachedHello(e)) {
    // Refused or deferred is smtp.ehlo_supported's; a broken bound is smtp.limits.exceeded.
    if (!HelloRefused(e) && !EhloDeferred(e) && e.limit_exceeded.empty()) {
      const std::string why = e.session_error.empty()
                                  ? std::string("no usable reply to EHLO or HELO")
                                  : Truncate(e.session_error);
      out.Fail("smtp.session.aborted", subject,
               "the session ended at EHLO: " + why + NoVerdictList(e, context.options));
    }
    return;
  }
  EvaluateProbeAnswers(e, context.options, subject, out);
  if (!e.session_error.empty() && e.limit_exceeded.empty()) {
    out.Fail("smtp.session.aborted", subject,
             "the session ended before QUIT: " + Truncate(e.session_error) +
                 NoVerdictList(e, context.options));
  }
}

void EvaluateDomainReachability(const RuleContext& context, FindingSink& out) {
  const DnsFacts& dns = context.facts.dns;
  if (dns.null_mx || dns.mx_failed || dns.no_mail) {
    return;
  }
  const DomainObservation& obs = context.obs;
  const std::string& domain = context.facts.domain;
  std::size_t attempted = 0;
  std::size_t connected = 0;
  std::vector<std::string> failed;
  for (const auto& e : obs.endpoints) {
    if (e.connect_status == ConnectStatus::kNotAttempted || NotJudged(e)) {
      continue;
    }
    ++attempted;
    if (e.connect_status == ConnectStatus::kConnected) {
      ++connected;
    } else {
      failed.push_back(e.ip.ToString() + " " + std::string(ConnectStatusName(e.connect_status)));
    }
  }
  const std::string port = std::to_string(context.options.port);
  if (attempted > 0) {
    if (connected == 0) {
      out.Fail("smtp.all_unreachable", Subject::Domain(domain),
               "none of the " + std::to_string(attempted) +
                   " endpoint(s) accepts TCP connections on port " + port + " (" +
                   Join(failed, ", ") + "): mail to " + domain + " cannot be delivered");
    } else {
      out.Pass("smtp.all_unreachable", Subject::Domain(domain),
               std::to_string(connected) + " of " + std::to_string(attempted) +
                   " endpoint(s) accept TCP connections on port " + port);
    }
    return;
  }
  // Nothing was probed. That is a verdict only when DNS answered and left no address at all:
  // every MX target is an IP literal or unresolvable.
  bool any_target = false;
  bool any_address =
      !obs.plan.endpoints.empty() || !obs.endpoints.empty() || !obs.dns.implicit_addresses.empty();
  for (const auto& target : obs.dns.mx_targets) {
    if (!IsNullTarget(target)) {
      any_target = true;
      any_address = any_address || !target.addresses.empty();
    }
  }
  if (dns.ran && any_target && !any_address && !dns.address_failed) {
    out.Fail("smtp.all_unreachable", Subject::Domain(domain),
             "no MX target resolves to an address: there is no endpoint to deliver mail to");
  }
}

// RFC 5321 §4.2: the greeting names the server; compare with the MX and PTR names.
void EvaluateBannerName(const DomainObservation& obs, const EndpointObservation& e,
                        const Subject& subject, FindingSink& out) {
  const std::string announced = NormaliseHostName(e.announced_hostname);
  std::vector<std::string> mx_names;
  if (!e.mx_name.empty()) {
    mx_names.push_back(NormaliseHostName(e.mx_name));
  }
  for (const auto& p : obs.plan.endpoints) {
    if (p.ip == e.ip) {
      for (const auto& name : p.also_named) {
        mx_names.push_back(NormaliseHostName(name));
      }
    }
  }
  const std::string ip = e.ip.ToString();
  const ReverseDns* reverse = obs.dns.FindReverse(e.ip);
  auto contains = [&](const std::vector<std::string>& names) {
    return std::find(names.begin(), names.end(), announced) != names.end();
  };
  if (!announced.empty() && contains(mx_names)) {
    out.Pass("smtp.banner.hostname_mismatch", subject,
             "the greeting announces " + announced + ", the MX name");
    return;
  }
  std::vector<std::string> ptr_names;
  if (reverse != nullptr) {
    for (const auto& name : reverse->ptr_names) {
      ptr_names.push_back(NormaliseHostName(name));
    }
  }
  if (!announced.empty() && contains(ptr_names)) {
    out.Pass("smtp.banner.hostname_mismatch", subject,
             "the greeting announces " + announced + ", the PTR name of " + ip);
    return;
  }
  // A mismatch is a verdict only when both names to compare with are known.
  if (mx_names.empty() || reverse == nullptr || !Answered(reverse->ptr)) {
    return;
  }
  const std::string shown = announced.empty() ? "no host name" : Truncate(e.announced_hostname);
  out.Fail("smtp.banner.hostname_mismatch", subject,
           "the greeting " + QuoteReply(*e.greeting) + " announces " + shown +
               ", which is neither the MX name (" + Join(mx_names, ", ") + ") nor a PTR name of " +
               ip + " (" + (ptr_names.empty() ? std::string("none") : Join(ptr_names, ", ")) + ")");
}

}  // namespace

void EvaluateEndpointReachable(const RuleContext& context, FindingSink& out) {
  if (!Judged(context)) {
    return;
  }
  EvaluateDomainReachability(context, out);
  for (std::size_t i = 0; i < context.obs.endpoints.size(); ++i) {
    EvaluateEndpointSession(context, i, out);
  }
}

// RFC 5321 §3.1: a 554 greeting refuses the session. A missing greeting is told apart by
// cause: a timeout (a tarpit, or a postscreen-like pre-greeting pause longer than our budget)
// needs a different fix from a server that hangs up at once.
void EvaluateBannerSanity(const RuleContext& context, FindingSink& out) {
  if (!Judged(context)) {
    return;
  }
  for (std::size_t i = 0; i < context.obs.endpoints.size(); ++i) {
    const EndpointObservation& e = context.obs.endpoints[i];
    if (e.connect_status != ConnectStatus::kConnected) {
      continue;  // smtp.endpoint_reachable says why
    }
    const Subject subject = EndpointSubject(e);
    if (!e.greeting) {
      std::string text;
      if (e.session_error_code == ErrorCode::kTimeout) {
        text = "no greeting within " + SecondsText(context.options.timeout) +
               ": the server accepted the TCP connection but sent no 220 before this check's "
               "timeout";
      } else if (e.session_error_code == ErrorCode::kConnectionClosed) {
        text = "the server closed the connection without a greeting";
      } else {
        text = "no greeting was received";
      }
      if (!e.session_error.empty()) {
        text += " (" + Truncate(e.session_error) + ")";
      }
      out.Fail("smtp.banner.rejected", subject, std::move(text));
      continue;
    }
    if (e.greeting->code != 220) {
      std::string text = "the server greeted with " + QuoteReply(*e.greeting) + " instead of 220";
      if (e.greeting->IsTransient()) {
        // RFC 5321 §4.2.1: a 4yz greeting (421, §3.8) is a temporary refusal; senders queue the
        // mail, try the next MX (§5.1) and retry. One probe cannot tell a busy moment or a
        // refusal aimed at this exporter from an outage, so it is WARN, never CRIT on its own;
        // a 5yz greeting is a deliberate, lasting refusal and stays CRIT.
        text += context.facts.another_endpoint_works[i]
                    ? "; a temporary refusal, and other endpoints of the domain work, so "
                      "senders fall back to them"
                    : "; a temporary refusal, and no other endpoint of the domain works, so "
                      "mail waits in senders' queues until this one accepts it";
        out.Fail("smtp.banner.rejected", Severity::kWarn, subject, std::move(text));
        continue;
      }
      out.Fail("smtp.banner.rejected", subject, std::move(text));
      continue;
    }
    out.Pass("smtp.banner.rejected", subject, "the greeting is " + QuoteReply(*e.greeting));
    EvaluateBannerName(context.obs, e, subject, out);
  }
}

// RFC 5321 §2.2.1: servers must support EHLO; HELO alone means no extension at all.
void EvaluateEhloSupported(const RuleContext& context, FindingSink& out) {
  if (!Judged(context)) {
    return;
  }
  for (const auto& e : context.obs.endpoints) {
    if (!Works(e)) {
      continue;
    }
    const Subject subject = EndpointSubject(e);
    if (!ReachedHello(e)) {
      if (EhloDeferred(e)) {
        out.Fail("smtp.ehlo.deferred", subject,
                 "EHLO was answered " + QuoteReply(*e.ehlo) +
                     (e.helo ? " and HELO " + QuoteReply(*e.helo) : std::string()) +
                     ": a temporary refusal (senders retry later), so STARTTLS, AUTH and the "
                     "transaction probes have no verdict this time");
      } else if (HelloRefused(e)) {
        out.Fail("smtp.ehlo.rejected", subject,
                 "EHLO was answered " + QuoteReply(*e.ehlo) + " and HELO " + QuoteReply(*e.helo));
      }
      continue;  // otherwise the session ended: smtp.endpoint_reachable (smtp.session.aborted)
    }
    if (e.helo_fallback) {
      out.Fail("smtp.ehlo.helo_fallback", subject,
               "EHLO was refused" + (e.ehlo ? " with " + QuoteReply(*e.ehlo) : std::string()) +
                   "; only HELO works, so no extension (STARTTLS, SIZE, 8BITMIME) is available");
    } else {
      out.Pass("smtp.ehlo.helo_fallback", subject, "EHLO is accepted (ESMTP)");
    }
  }
}

// PTR (RFC 1912 §2.1) and forward confirmation (RFC 8601 §3 "iprev") of each connected
// endpoint's address.
void EvaluateReverseDns(const RuleContext& context, FindingSink& out) {
  if (!Judged(context)) {
    return;
  }
  for (const auto& e : context.obs.endpoints) {
    if (e.connect_status != ConnectStatus::kConnected) {
      continue;
    }
    const Subject subject = EndpointSubject(e);
    const std::string ip = e.ip.ToString();
    const ReverseDns* reverse = context.obs.dns.FindReverse(e.ip);
    if (reverse == nullptr || !Answered(reverse->ptr)) {
      continue;  // not looked up, or the lookup failed (smtp.dns.error)
    }
    if (reverse->ptr_names.empty()) {
      out.Fail("smtp.ptr.missing", subject,
               "no PTR record for " + ip + " (" + LookupText(reverse->ptr) +
                   "); Gmail, Outlook.com and Yahoo reject or junk mail sent from addresses "
                   "without reverse DNS");
      continue;
    }
    out.Pass("smtp.ptr.missing", subject, "PTR " + ip + " -> " + Join(reverse->ptr_names, ", "));
    if (!reverse->fcrdns_ok.has_value()) {
      continue;  // a forward lookup failed: smtp.dns.error
    }
    if (*reverse->fcrdns_ok) {
      out.Pass("smtp.fcrdns.mismatch", subject,
               "the PTR name " + reverse->fcrdns_name + " resolves back to " + ip);
    } else {
      out.Fail("smtp.fcrdns.mismatch", subject,
               "PTR " + ip + " -> " + Join(reverse->ptr_names, ", ") +
                   ", but no PTR name resolves back to " + ip +
                   "; Gmail, Outlook.com and Yahoo require forward-confirmed reverse DNS");
    }
  }
}

// IPv6 coverage of the MX set: published (AAAA) and reachable.
void EvaluateIpv6Reachable(const RuleContext& context, FindingSink& out) {
  const DnsFacts& dns = context.facts.dns;
  if (!dns.ran || dns.null_mx || dns.mx_failed || dns.no_mail) {
    return;
  }
  const DomainObservation& obs = context.obs;
  const std::string& domain = context.facts.domain;
  std::size_t v6_known = 0;
  std::size_t any_known = 0;
  auto count = [&](IpFamily family) {
    ++any_known;
    v6_known += family == IpFamily::kV6 ? 1 : 0;
  };
  for (const auto& target : obs.dns.mx_targets) {
    for (const auto& ip : target.addresses) {
      count(ip.family());
    }
  }
  for (const auto& ip : obs.dns.implicit_addresses) {
    count(ip.family());
  }
  for (const auto& p : obs.plan.endpoints) {
    count(p.ip.family());
  }
  for (const auto& e : obs.endpoints) {
    count(e.family());
  }
  if (any_known == 0) {
    return;  // no address at all: smtp.mx.unresolvable / smtp.all_unreachable say so
  }
  if (v6_known == 0) {
    if (!dns.aaaa_failed) {
      out.Fail("smtp.ipv6.missing", Subject::Domain(domain),
               "no MX host of " + domain + " has an AAAA record: IPv6-only senders cannot deliver");
    }
    return;
  }
  std::size_t v6_attempted = 0;
  std::size_t v6_connected = 0;
  std::size_t v4_connected = 0;
  std::vector<std::string> v6_failed;
  for (const auto& e : obs.endpoints) {
    if (e.connect_status == ConnectStatus::kNotAttempted || NotJudged(e)) {
      continue;
    }
    const bool connected = e.connect_status == ConnectStatus::kConnected;
    if (e.family() == IpFamily::kV6) {
      ++v6_attempted;
      v6_connected += connected ? 1 : 0;
      if (!connected) {
        v6_failed.push_back(e.ip.ToString());
      }
    } else {
      v4_connected += connected ? 1 : 0;
    }
  }
  out.Pass("smtp.ipv6.missing", Subject::Domain(domain),
           "IPv6 addresses are published for the MX hosts");
  if (v6_attempted == 0) {
    return;
  }
  if (v6_connected > 0) {
    out.Pass("smtp.ipv6.unreachable", Subject::Domain(domain),
             std::to_string(v6_connected) + " of " + std::to_string(v6_attempted) +
                 " IPv6 endpoint(s) accept connections");
  } else if (v4_connected > 0) {
    // With nothing reachable at all, smtp.all_unreachable already says it.
    out.Fail("smtp.ipv6.unreachable", Subject::Domain(domain),
             "AAAA records are published but none of the " + std::to_string(v6_attempted) +
                 " IPv6 endpoint(s) accepts connections (" + Join(v6_failed, ", ") +
                 "), while IPv4 works");
  }
}

}  // namespace smtp_exporter
