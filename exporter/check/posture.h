// Posture drift: what a domain's inbound mail service looked like at its last checks, and what
// changed since (issue #19 §2). A check's *posture* is a small set of facts that should stay put
// between checks: the MX set, and per endpoint whether STARTTLS is offered, the TLS version it
// negotiates, the EHLO keywords, the host name in the banner, whether AUTH is offered before TLS,
// and the PTR names of its address; when the policy checks collect them, the MTA-STS mode and
// each MX host's TLSA records. A `PostureHistory` keeps the last known value of each fact
// and a bounded log of the changes; `AdvancePosture` folds one more observation into it.
//
// Why it matters: STARTTLS that disappears where it was offered is what a downgrade on the path
// looks like (STRIPTLS, RFC 3207 §6 / RFC 8461 §1), and other changes (a new banner name, a
// lost extension, a changed MX set) are what an operator wants to see before a user complains.
// A changed TLSA RRset is the first thing to look at when DANE senders start failing after a
// certificate rollover (RFC 7671 §8.1), and an MTA-STS mode that left enforce is protection
// gone without a sign elsewhere.
//
// Only the daemon tracks posture (it keeps each domain's history from check to check, and on
// disk with --storage.path); a one-shot check or the happyDomain mode has no history, and the
// smtp.posture_drift rule then says nothing.
//
// A fact is only compared when both checks observed it: an endpoint that did not answer this
// time keeps its last known facts (its reachability is another rule's finding, not a change),
// and a failed lookup changes nothing.
//
// Plain value types and pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/base/result.h"
#include "probes/dns_observation.h"

namespace smtp_exporter {

enum class PostureKind {
  kMxSet,          // the domain's MX records ("10 mx1.example.org, 20 mx2.example.org")
  kStartTls,       // "offered" / "not offered" in the plaintext EHLO reply
  kTlsVersion,     // the version STARTTLS negotiated ("TLSv1.3")
  kExtensions,     // the EHLO keywords but STARTTLS, plaintext and after TLS together, sorted
  kBanner,         // the host name the 220 greeting announces
  kAuthBeforeTls,  // "yes" / "no": AUTH in the plaintext EHLO reply
  kPtr,            // the PTR names of the endpoint's address, sorted
  kMtaStsMode,     // the fetched MTA-STS policy's mode, or "no policy" (RFC 8461)
  kDaneTlsa,       // an MX host's TLSA records, sorted, and whether they validated (RFC 7672)
};
inline constexpr std::size_t kPostureKindCount = 9;

// "mx_set", "starttls", "tls_version", "extensions", "banner", "auth_before_tls", "ptr",
// "mta_sts_mode", "dane_tlsa": the `kind` label of smtp_change_timestamp_seconds and the JSON
// name.
std::string_view PostureKindName(PostureKind kind);
std::optional<PostureKind> PostureKindFromName(std::string_view name);
// "MX set", "STARTTLS", "TLS version", "EHLO keywords", "Banner host name", "AUTH before
// STARTTLS", "PTR names", "MTA-STS mode", "TLSA records": how messages and reports name a kind.
std::string_view PostureKindTitle(PostureKind kind);

// Values of kStartTls.
inline constexpr std::string_view kStartTlsOfferedValue = "offered";
inline constexpr std::string_view kStartTlsNotOfferedValue = "not offered";

// One fact of a posture. `mx` and `ip` are empty for the domain-level kMxSet and kMtaStsMode;
// kPtr names the address only (PTR belongs to the address, whatever MX name led to it), and
// kDaneTlsa the MX host only (TLSA is published per host name, RFC 7672 §2.2).
struct PostureFact {
  PostureKind kind = PostureKind::kMxSet;
  std::string mx;
  std::string ip;
  std::string value;

  friend bool operator==(const PostureFact&, const PostureFact&) = default;
};

struct PostureChange {
  PostureKind kind = PostureKind::kMxSet;
  std::string mx;
  std::string ip;
  std::string before;
  std::string after;
  double at_unix = 0;  // the start of the check that saw the new value

  friend bool operator==(const PostureChange&, const PostureChange&) = default;
};

// The log keeps this many changes, the newest: a server whose banner changes at every
// connection cannot grow it without bound.
inline constexpr std::size_t kMaxPostureChanges = 32;
// A change is reported (an INFO finding) for this long after the check that saw it; the
// timestamp metric and the report's "Changes" section keep it longer.
inline constexpr double kPostureChangeReportSeconds = 24 * 3600;

struct PostureHistory {
  double tracked_since_unix = 0;     // the first check folded in
  std::vector<PostureFact> facts;    // the last known value of each fact, sorted by key
  std::vector<PostureChange> changes;  // oldest first, at most kMaxPostureChanges
  // When each kind last changed (never trimmed with the log); kinds that never changed are
  // absent. Ordered by kind.
  std::vector<std::pair<PostureKind, double>> last_change_at;

  friend bool operator==(const PostureHistory&, const PostureHistory&) = default;
};

// The facts `obs` observed, sorted by (kind, mx, ip).
std::vector<PostureFact> PostureOf(const DomainObservation& obs);

// `previous` (nullptr or an empty history: the first check) with `obs` folded in: facts observed now replace the
// last known ones, and each that differs from a known one is logged as a change at
// obs.started_at_unix. Facts of endpoints that are no longer planned are dropped.
PostureHistory AdvancePosture(const PostureHistory* previous, const DomainObservation& obs);

// The last known value of a fact, or nullptr.
const PostureFact* FindPostureFact(const PostureHistory& history, PostureKind kind,
                                   std::string_view mx, std::string_view ip);

// JSON, as the daemon's state on disk keeps it. FromJson rejects what it cannot read
// (a wrong type, an unknown kind) with an error naming the path, and re-applies the bounds.
nlohmann::json PostureHistoryToJson(const PostureHistory& history);
Result<PostureHistory> PostureHistoryFromJson(const nlohmann::json& json);

}  // namespace smtp_exporter
