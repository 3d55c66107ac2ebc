// The submission rule, smtp.submission (RFC 8314): the message submission ports the option
// `submission` names, 587 (STARTTLS, RFC 6409) and 465 (implicit TLS, RFC 8314 §3.3). Users'
// passwords cross these ports, so the rule asks: does each port answer, is the session
// encrypted before any password can be sent, and can users authenticate once it is?
#include <algorithm>
#include <iterator>
#include <string>
#include <vector>

#include "exporter/check/rule_functions.h"

namespace smtp_exporter {
namespace {

std::string MechanismList(const std::vector<std::string>& mechanisms) {
  return mechanisms.empty() ? "no mechanism listed" : Join(mechanisms, " ");
}

// Why the session did not reach EHLO, in a few words, for smtp.submission.unreachable.
// Server text is bounded (QuoteReply, Truncate), as in every other finding.
std::string WhyNotAnswering(const EndpointObservation& e) {
  const std::string session_error =
      e.session_error.empty() ? "" : " (" + Truncate(e.session_error) + ")";
  if (e.connect_status != ConnectStatus::kConnected) {
    return "no connection (" + std::string(ConnectStatusName(e.connect_status)) +
           (e.connect_error.empty() ? "" : ": " + Truncate(e.connect_error)) + ")";
  }
  if (!e.greeting) {
    return "no greeting" + session_error;
  }
  if (e.greeting->code != 220) {
    return "greeted with " + QuoteReply(*e.greeting);
  }
  return "EHLO and HELO failed" + session_error;
}

void JudgeEndpoint(const EndpointObservation& e, const std::string& domain, bool port_answers,
                   FindingSink& out) {
  const Subject about = Subject::Service(domain, e.mx_name, e.ip, e.port);
  const std::string port = "port " + std::to_string(e.port);
  // RFC 8314 §3.3: on 465 TLS comes first; a failed handshake is its own verdict, whatever
  // follows (nothing does: the connection is gone).
  if (e.service == EndpointService::kSubmissions && e.connect_status == ConnectStatus::kConnected) {
    if (!e.starttls.ok) {
      out.Fail("smtp.submission.tls_failed", about,
               "TLS handshake on " + port + " failed: " +
                   (e.starttls.error.empty() ? std::string("no detail")
                                             : Truncate(e.starttls.error)));
      return;
    }
    out.Pass(
        "smtp.submission.tls_failed", about,
        "implicit TLS on " + port + ": " + e.starttls.tls.version + " " + e.starttls.tls.cipher);
  }
  if (!SubmissionAnswers(e)) {
    // RFC 8314 §3: users' programs are configured with one host and port; a port that no
    // address answers on leaves them unable to send (CRIT).
    out.Fail("smtp.submission.unreachable", port_answers ? Severity::kWarn : Severity::kCrit, about,
             port + ": " + WhyNotAnswering(e) +
                 (port_answers ? "; another address answers on this port"
                               : "; no address answers on this port"));
    return;
  }
  out.Pass("smtp.submission.unreachable", about, port + " answers EHLO");

  if (e.service == EndpointService::kSubmission) {
    // What is offered in plaintext, before STARTTLS (RFC 4954 §4, RFC 8314 §3).
    const std::vector<std::string> before = e.extensions_plain.AuthMechanisms();
    std::vector<std::string> clear;
    std::copy_if(before.begin(), before.end(), std::back_inserter(clear),
                 [](const std::string& mechanism) { return SendsPasswordInClear(mechanism); });
    if (!clear.empty()) {
      out.Fail("smtp.submission.plaintext_auth", about,
               "AUTH " + MechanismList(before) + " offered before STARTTLS on " + port + ": " +
                   Join(clear, " and ") + " send the password in clear");
    } else {
      out.Pass("smtp.submission.plaintext_auth", about,
               "no plaintext AUTH mechanism before STARTTLS on " + port);
    }
    if (clear.empty() && e.extensions_plain.Has("AUTH")) {
      out.Fail("smtp.submission.auth_before_tls", about,
               "AUTH " + MechanismList(before) + " offered before STARTTLS on " + port);
    } else if (!e.extensions_plain.Has("AUTH")) {
      out.Pass("smtp.submission.auth_before_tls", about,
               "AUTH is not offered before STARTTLS on " + port);
    }
    // RFC 8314 §3.3 and §4: a 587 session must be upgraded to TLS before anything else.
    if (!e.starttls.ok) {
      const std::string why =
          e.starttls.offered ? StartTlsFailureText(e) : std::string("STARTTLS is not offered");
      out.Fail("smtp.submission.no_starttls", about, why + " on " + port);
      return;  // AUTH over TLS cannot be judged
    }
    out.Pass("smtp.submission.no_starttls", about,
             "STARTTLS on " + port + ": " + e.starttls.tls.version + " " + e.starttls.tls.cipher);
  }

  // Over TLS: RFC 6409 §4.3 and RFC 8314 §3: a submission server authenticates its users.
  if (!e.extensions_tls.Has("AUTH")) {
    out.Fail("smtp.submission.no_auth", about, "no AUTH offered over TLS on " + port);
  } else {
    out.Pass("smtp.submission.no_auth", about,
             "AUTH " + MechanismList(e.extensions_tls.AuthMechanisms()) + " over TLS on " + port);
  }
}

}  // namespace

void EvaluateSubmission(const RuleContext& context, FindingSink& out) {
  if (context.options.submission.empty()) {
    return;  // off (the default): no session was run
  }
  const std::string& domain = context.facts.domain;
  if (!context.obs.submission_host_error.empty()) {
    out.Fail("smtp.submission.unreachable", Severity::kCrit,
             Subject::Host(domain, context.options.submission_host),
             "no submission session could be run: " + context.obs.submission_host_error);
    return;
  }
  if (context.obs.submission.empty() && context.options.submission_host.empty()) {
    // The sessions run on the MX addresses by default, and there are none (a null MX, no MX,
    // or MX hosts without an address): nothing was checked, which the report must say rather
    // than show no submission finding at all.
    out.Fail("smtp.submission.unreachable", Severity::kInfo, Subject::Domain(domain),
             "no submission session was run: the domain has no MX address to run them on "
             "(null MX, no MX, or MX hosts without an address) and submission_host is not set");
    return;
  }
  for (std::uint16_t port : context.options.submission) {
    const auto& all = context.obs.submission;
    const bool port_answers = std::any_of(all.begin(), all.end(), [port](const auto& e) {
      return e.port == port && SubmissionAnswers(e);
    });
    for (const EndpointObservation& e : all) {
      if (e.port == port && !NotJudged(e)) {
        JudgeEndpoint(e, domain, port_answers, out);
      }
    }
  }
}

}  // namespace smtp_exporter
