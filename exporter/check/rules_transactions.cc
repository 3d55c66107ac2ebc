// The transaction-probe rules: smtp.null_sender (RFC 5321 §4.5.5), smtp.postmaster (§4.5.1)
// and smtp.open_relay (§3.6). The probes stop at RCPT: DATA is never sent. A probe disabled by
// the options yields nothing; temporary or inconclusive answers are the session's
// (smtp.endpoint_reachable), since they say nothing about the server's posture.
#include <string>
#include <utility>

#include "exporter/check/rule_functions.h"

namespace smtp_exporter {

std::string TransactionVerdictText(const TransactionProbe& probe) {
  for (auto it = probe.steps.rbegin(); it != probe.steps.rend(); ++it) {
    if (!it->reply) {
      continue;
    }
    const Reply& reply = *it->reply;
    const bool matches = (probe.outcome == ProbeOutcome::kAccepted && reply.IsPositive()) ||
                         (probe.outcome == ProbeOutcome::kRejected && reply.IsPermanent()) ||
                         (probe.outcome == ProbeOutcome::kTemporary && reply.IsTransient());
    if (matches) {
      return Truncate(it->command) + " answered " + QuoteReply(reply);
    }
  }
  return Truncate(probe.detail);
}

void EvaluateNullSender(const RuleContext& context, FindingSink& out) {
  if (!context.options.test_null_sender) {
    return;
  }
  ForEachHelloEndpoint(context, [&](const EndpointObservation& e, const Subject& subject) {
    const TransactionProbe& probe = e.null_sender;
    if (probe.outcome == ProbeOutcome::kAccepted) {
      out.Pass("smtp.null_sender.rejected", subject,
               "null-sender probe accepted: " + TransactionVerdictText(probe));
    } else if (probe.outcome == ProbeOutcome::kRejected) {
      std::string text = "bounces (MAIL FROM:<>) are refused: " + TransactionVerdictText(probe);
      if (!probe.detail.empty()) {
        text += " (" + Truncate(probe.detail) + ")";
      }
      out.Fail("smtp.null_sender.rejected", subject, std::move(text));
    }
  });
}

void EvaluatePostmaster(const RuleContext& context, FindingSink& out) {
  if (!context.options.test_postmaster) {
    return;
  }
  ForEachHelloEndpoint(context, [&](const EndpointObservation& e, const Subject& subject) {
    const TransactionProbe& probe = e.postmaster;
    if (probe.outcome == ProbeOutcome::kAccepted) {
      out.Pass("smtp.postmaster.rejected", subject,
               "postmaster probe accepted: " + TransactionVerdictText(probe));
    } else if (probe.outcome == ProbeOutcome::kRejected) {
      std::string text =
          "mail to postmaster@" + e.domain + " is refused: " + TransactionVerdictText(probe);
      if (!probe.detail.empty()) {
        text += " (" + Truncate(probe.detail) + ")";
      }
      out.Fail("smtp.postmaster.rejected", subject, std::move(text));
    }
  });
}

void EvaluateOpenRelay(const RuleContext& context, FindingSink& out) {
  if (!context.options.test_open_relay) {
    return;
  }
  ForEachHelloEndpoint(context, [&](const EndpointObservation& e, const Subject& subject) {
    const TransactionProbe& probe = e.open_relay;
    if (probe.outcome == ProbeOutcome::kAccepted) {
      out.Fail("smtp.open_relay", subject,
               "OPEN RELAY: a recipient outside the domain was accepted from <" + e.probe_sender +
                   ">: " + TransactionVerdictText(probe) +
                   ". The probe stopped at RCPT; DATA was never sent, so no mail "
                   "was delivered");
    } else if (probe.outcome == ProbeOutcome::kRejected) {
      out.Pass("smtp.open_relay", subject, "relaying refused: " + TransactionVerdictText(probe));
    }
  });
}

}  // namespace smtp_exporter
