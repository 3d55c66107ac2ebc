// The rules about what an endpoint offers after EHLO: smtp.starttls_offered,
// smtp.starttls_handshake, smtp.auth_posture, smtp.extension_posture, and smtp.tls_quality.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "exporter/check/rule_functions.h"

namespace smtp_exporter {
namespace {

// Extensions judged by smtp.extension.missing: the two of happyDomain's extension_posture,
// which nearly every MTA advertises and whose absence costs senders (round trips, 8-bit
// conversion). Others (SIZE, ENHANCEDSTATUSCODES, SMTPUTF8, ...) are an inventory: Exim has no
// ENHANCEDSTATUSCODES, OpenSMTPD no SMTPUTF8, and neither is a fault.
struct ExpectedExtension {
  std::string_view keyword;
  std::string_view rfc;
};
constexpr ExpectedExtension kExpectedExtensions[] = {
    {"PIPELINING", "RFC 2920"},
    {"8BITMIME", "RFC 6152"},
};

bool IsJudgedExtension(std::string_view keyword) {
  for (const auto& expected : kExpectedExtensions) {
    if (expected.keyword == keyword) {
      return true;
    }
  }
  return false;
}

}  // namespace

// RFC 3207: STARTTLS per endpoint, and whether any endpoint of the domain completes it.
void EvaluateStartTlsOffered(const RuleContext& context, FindingSink& out) {
  std::size_t judged = 0;
  std::size_t ok = 0;
  ForEachHelloEndpoint(context, [&](const EndpointObservation& e, const Subject& subject) {
    ++judged;
    ok += e.starttls.ok ? 1 : 0;
    if (!e.starttls.offered) {
      out.Fail("smtp.starttls.missing", subject,
               e.esmtp ? "the EHLO reply does not list STARTTLS: mail to this endpoint travels "
                         "in plaintext"
                       : "only HELO works, and HELO cannot offer STARTTLS: mail to this endpoint "
                         "travels in plaintext");
    } else {
      out.Pass("smtp.starttls.missing", subject, "STARTTLS is offered");
    }
  });
  if (judged == 0) {
    return;  // nothing answered EHLO/HELO: the endpoint findings say why
  }
  const std::string& domain = context.facts.domain;
  if (ok == 0) {
    out.Fail("smtp.all_no_starttls", Subject::Domain(domain),
             "none of the " + std::to_string(judged) +
                 " endpoint(s) that answered EHLO completes STARTTLS: all mail to " + domain +
                 " travels in plaintext");
  } else {
    out.Pass(
        "smtp.all_no_starttls", Subject::Domain(domain),
        std::to_string(ok) + " of " + std::to_string(judged) + " endpoint(s) complete STARTTLS");
  }
}

void EvaluateStartTlsHandshake(const RuleContext& context, FindingSink& out) {
  ForEachHelloEndpoint(context, [&](const EndpointObservation& e, const Subject& subject) {
    if (!e.starttls.offered) {
      return;  // smtp.starttls_offered says so
    }
    if (e.starttls.ok) {
      std::string text = "STARTTLS completed";
      if (!e.starttls.tls.version.empty()) {
        text += ": " + e.starttls.tls.version;
        if (!e.starttls.tls.cipher.empty()) {
          text += ", " + e.starttls.tls.cipher;
        }
      }
      out.Pass("smtp.starttls.failed", subject, std::move(text));
      return;
    }
    if (!e.starttls.attempted) {
      return;  // offered but never tried: no verdict
    }
    std::string text = StartTlsFailureText(e);
    if (e.transactions_channel == TransactionChannel::kPlainReconnect) {
      text +=
          "; the transaction probes ran on a new plaintext connection, as a sender "
          "falling back to plaintext would";
    }
    out.Fail("smtp.starttls.failed", subject, std::move(text));
  });
}

// RFC 4954 §4: no plaintext password mechanism outside TLS.
void EvaluateAuthPosture(const RuleContext& context, FindingSink& out) {
  ForEachHelloEndpoint(context, [&](const EndpointObservation& e, const Subject& subject) {
    if (e.auth_before_tls || e.extensions_plain.Has("AUTH")) {
      const std::vector<std::string> mechanisms = e.extensions_plain.AuthMechanisms();
      std::string text = "the plaintext EHLO reply advertises AUTH";
      if (!mechanisms.empty()) {
        text += " " + Truncate(Join(mechanisms, " "));
      }
      text += " before STARTTLS: clients can send passwords in clear";
      out.Fail("smtp.auth.plaintext", subject, std::move(text));
    } else {
      out.Pass("smtp.auth.plaintext", subject, "AUTH is not advertised before STARTTLS");
    }
  });
}

// Judged on the union of the plaintext and TLS EHLO replies (RFC 3207 §4.2: they may differ).
// HELO has no extensions: smtp.ehlo.helo_fallback says it.
void EvaluateExtensionPosture(const RuleContext& context, FindingSink& out) {
  ForEachHelloEndpoint(context, [&](const EndpointObservation& e, const Subject& subject) {
    if (!e.esmtp) {
      return;
    }
    const ExtensionSet all = e.ExtensionsUnion();
    std::vector<std::string> missing;
    std::vector<std::string> present;
    for (const auto& expected : kExpectedExtensions) {
      if (all.Has(expected.keyword)) {
        present.emplace_back(expected.keyword);
      } else {
        missing.push_back(std::string(expected.keyword) + " (" + std::string(expected.rfc) + ")");
      }
    }
    std::vector<std::string> others;
    for (const auto& extension : all.items()) {
      if (!IsJudgedExtension(extension.keyword)) {
        others.push_back(extension.keyword);
      }
    }
    const std::string inventory =
        others.empty() ? "" : "; also advertised (not judged): " + Join(others, ", ");
    if (!missing.empty()) {
      out.Fail("smtp.extension.missing", subject,
               "not advertised before or after STARTTLS: " + Join(missing, ", ") + inventory);
    } else {
      out.Pass("smtp.extension.missing", subject, "advertises " + Join(present, ", ") + inventory);
    }
  });
}

// Certificate quality is a TLS checker's job (happyDomain's checker-tls, fed by the
// tls.endpoint.v1 entries of the checker mode). Until its findings are given to the check,
// this rule can only say that they are missing: INFO, never a false OK or CRIT.
void EvaluateTlsQuality(const RuleContext& context, FindingSink& out) {
  if (context.facts.dns.null_mx) {
    return;
  }
  std::size_t with_tls = 0;
  for (const auto& e : context.obs.endpoints) {
    with_tls += e.starttls.ok ? 1 : 0;
  }
  if (with_tls == 0) {
    return;  // no TLS session to judge: smtp.starttls_offered / _handshake say why
  }
  out.Fail("smtp.tls.unavailable", Subject::Domain(context.facts.domain),
           "no TLS checker findings were given for the " + std::to_string(with_tls) +
               " endpoint(s) that completed STARTTLS: certificate validity, expiry and name "
               "match are not judged here");
}

}  // namespace smtp_exporter
