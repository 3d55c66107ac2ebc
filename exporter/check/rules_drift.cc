// smtp.posture_drift: what changed since earlier checks of the daemon (posture.h).
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include "exporter/check/rule_functions.h"

namespace smtp_exporter {
namespace {

// "at this check", "3 h before this check", "25 min before this check".
std::string WhenText(double at_unix, double now_unix) {
  const double ago = now_unix - at_unix;
  if (ago < 1) {
    return "at this check";
  }
  const auto minutes = static_cast<long long>(std::llround(ago / 60));
  if (minutes < 120) {
    return std::to_string(std::max(1LL, minutes)) + " min before this check";
  }
  return std::to_string(static_cast<long long>(std::llround(ago / 3600))) +
         " h before this check";
}

Subject ChangeSubject(const RuleContext& context, const PostureChange& change) {
  const std::string& domain = context.facts.domain;
  if (change.kind == PostureKind::kMxSet || change.kind == PostureKind::kMtaStsMode) {
    return Subject::Domain(domain);
  }
  const std::optional<IpAddress> ip = IpAddress::Parse(change.ip);
  if (!ip) {
    return Subject::Host(domain, change.mx);
  }
  if (change.kind == PostureKind::kPtr) {
    return ReverseSubject(context.obs, domain, *ip, context.options.port);
  }
  return Subject::Endpoint(domain, change.mx, *ip, context.options.port);
}

// The endpoint's latest STARTTLS change, or nullptr.
const PostureChange* LatestStartTlsChange(const PostureHistory& history,
                                          const EndpointObservation& e) {
  const std::string ip = e.ip.ToString();
  for (auto it = history.changes.rbegin(); it != history.changes.rend(); ++it) {
    if (it->kind == PostureKind::kStartTls && it->mx == e.mx_name && it->ip == ip) {
      return &*it;
    }
  }
  return nullptr;
}

// RFC 8461 §5: under an enforce policy, senders that know it refuse to deliver without TLS, so
// STARTTLS lost there stops mail instead of exposing it.
bool EnforcePolicy(const DomainObservation& obs) {
  return obs.mta_sts && obs.mta_sts->policy && obs.mta_sts->policy->mode == MtaStsMode::kEnforce;
}

bool IsStartTlsLoss(const PostureChange& change) {
  return change.kind == PostureKind::kStartTls && change.before == kStartTlsOfferedValue &&
         change.after == kStartTlsNotOfferedValue;
}

}  // namespace

void EvaluatePostureDrift(const RuleContext& context, FindingSink& out) {
  if (context.posture == nullptr) {
    return;  // nothing to compare with: only the daemon keeps a history
  }
  const PostureHistory& history = *context.posture;
  const double now = context.obs.started_at_unix;

  // RFC 3207 §6: STARTTLS that an earlier check saw and this one does not is what a
  // man-in-the-middle stripping it looks like; it stays a finding until it is back.
  ForEachHelloEndpoint(context, [&](const EndpointObservation& e, const Subject& subject) {
    if (!e.esmtp) {
      return;  // after HELO no extension can be advertised: nothing to compare
    }
    const PostureChange* latest = LatestStartTlsChange(history, e);
    if (!e.starttls.offered && latest != nullptr && IsStartTlsLoss(*latest)) {
      const bool enforce = EnforcePolicy(context.obs);
      out.Fail("smtp.drift.starttls_lost", enforce ? Severity::kCrit : Severity::kWarn, subject,
               "STARTTLS is not offered; it was until " + WhenText(latest->at_unix, now) +
                   " (tracking started " + WhenText(history.tracked_since_unix, now) + ")" +
                   (enforce ? "; the MTA-STS policy is in enforce mode, so senders that honour "
                              "it defer mail to this host"
                            : ""));
    } else {
      out.Pass("smtp.drift.starttls_lost", subject,
               e.starttls.offered ? "STARTTLS offered, as before"
                                  : "STARTTLS not offered, and no earlier check saw it offered");
    }
  });

  bool recent = false;
  for (const PostureChange& change : history.changes) {
    if (IsStartTlsLoss(change) || change.at_unix > now ||
        now - change.at_unix > kPostureChangeReportSeconds) {
      continue;  // a loss is smtp.drift.starttls_lost's; old changes are in the report only
    }
    recent = true;
    out.Fail("smtp.drift.changed", ChangeSubject(context, change),
             std::string(PostureKindTitle(change.kind)) + " changed from \"" + Truncate(change.before) +
                 "\" to \"" + Truncate(change.after) + "\" " + WhenText(change.at_unix, now));
  }
  if (!recent) {
    const bool young = now - history.tracked_since_unix < kPostureChangeReportSeconds;
    out.Pass("smtp.drift.changed", Subject::Domain(context.facts.domain),
             young ? "no change since tracking started " + WhenText(history.tracked_since_unix, now)
                   : std::string("no change in the last 24 h"));
  }
}

}  // namespace smtp_exporter
