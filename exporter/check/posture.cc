#include "exporter/check/posture.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "exporter/check/facts.h"

namespace smtp_exporter {
namespace {

using json = nlohmann::json;

constexpr std::array<std::pair<PostureKind, std::string_view>, kPostureKindCount> kKindNames = {{
    {PostureKind::kMxSet, "mx_set"},
    {PostureKind::kStartTls, "starttls"},
    {PostureKind::kTlsVersion, "tls_version"},
    {PostureKind::kExtensions, "extensions"},
    {PostureKind::kBanner, "banner"},
    {PostureKind::kAuthBeforeTls, "auth_before_tls"},
    {PostureKind::kPtr, "ptr"},
    {PostureKind::kMtaStsMode, "mta_sts_mode"},
    {PostureKind::kDaneTlsa, "dane_tlsa"},
}};

// Bounds re-applied to what is read back from disk (a file is input like any other).
constexpr std::size_t kMaxFacts = 1024;
constexpr std::size_t kMaxValueBytes = 2048;

auto Key(const PostureFact& f) { return std::tie(f.kind, f.mx, f.ip); }

bool KeyLess(const PostureFact& a, const PostureFact& b) { return Key(a) < Key(b); }
bool SameKey(const PostureFact& a, const PostureFact& b) { return Key(a) == Key(b); }

// At most kMaxValueBytes, "..." included, so that bounding again changes nothing (a history
// read back from disk writes the same JSON).
std::string Bounded(std::string value) {
  return value.size() <= kMaxValueBytes ? value : Truncate(value, kMaxValueBytes - 3);
}

std::string SortedJoin(std::vector<std::string> items) {
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  return items.empty() ? "(none)" : Bounded(Join(items, " "));
}

// mx_targets are sorted by preference, then host: the order DNS answered in is no change.
std::string MxSetValue(const DnsObservation& dns) {
  std::vector<std::string> records;
  for (const auto& target : dns.mx_targets) {
    records.push_back(std::to_string(target.preference) + " " +
                      (target.host.empty() ? "." : target.host));
  }
  if (records.empty()) {
    // RFC 5321 §5.1: no MX RRset means the domain's own address is the implicit MX.
    return dns.implicit_mx ? "(no MX: implicit MX)" : "(none)";
  }
  return Bounded(Join(records, ", "));
}

void AddEndpointFacts(const EndpointObservation& e, std::vector<PostureFact>& out) {
  if (!ReachedHello(e)) {
    return;  // nothing of the session's posture is known
  }
  const std::string ip = e.ip.ToString();
  auto add = [&](PostureKind kind, std::string value) {
    out.push_back({kind, e.mx_name, ip, std::move(value)});
  };
  add(PostureKind::kBanner, e.announced_hostname.empty() ? "(none)" : Bounded(e.announced_hostname));
  if (e.esmtp) {
    // RFC 3207 §4: STARTTLS is only advertised in an EHLO reply; after HELO it cannot be.
    add(PostureKind::kStartTls, std::string(e.starttls.offered ? kStartTlsOfferedValue
                                                               : kStartTlsNotOfferedValue));
    add(PostureKind::kAuthBeforeTls, e.auth_before_tls ? "yes" : "no");
    std::vector<std::string> keywords;
    const ExtensionSet all = e.ExtensionsUnion();  // named: items() refers into it
    for (const auto& extension : all.items()) {
      if (extension.keyword != "STARTTLS") {  // a kind of its own
        keywords.push_back(extension.keyword);
      }
    }
    add(PostureKind::kExtensions, SortedJoin(std::move(keywords)));
  }
  if (e.starttls.ok && !e.starttls.tls.version.empty()) {
    add(PostureKind::kTlsVersion, Bounded(e.starttls.tls.version));
  }
}

// A lookup that answered: its records, or their absence, are the published state. One not
// made, or failed (SERVFAIL, timeout), says nothing and changes nothing.
bool Answered(DnsStatus status) {
  return status != DnsStatus::kNotQueried && !IsDnsFailure(status);
}

void AddReverseFacts(const DomainObservation& obs, std::vector<PostureFact>& out) {
  for (const auto& reverse : obs.dns.reverse) {
    if (!Answered(reverse.ptr.status)) {
      continue;  // a failed lookup says nothing about the PTR records
    }
    out.push_back({PostureKind::kPtr, "", reverse.ip.ToString(), SortedJoin(reverse.ptr_names)});
  }
}

// The MTA-STS mode (RFC 8461 §5) when it is known: the mode of a fetched policy, or "no policy"
// when the _mta-sts lookup answered without a v=STSv1 record. A record that does not parse, or a
// policy that could not be fetched this time, is another rule's finding and no change of mode:
// senders keep using a cached policy until its max_age runs out (RFC 8461 §5.1).
void AddPolicyFacts(const DomainObservation& obs, std::vector<PostureFact>& out) {
  const auto& m = obs.mta_sts;
  if (!m) {
    return;  // not collected
  }
  if (m->policy && m->fetch_status == PolicyFetchStatus::kOk) {
    out.push_back({PostureKind::kMtaStsMode, "", "", std::string(MtaStsModeName(m->policy->mode))});
  } else if (Answered(m->record_lookup.status) && m->record_count == 0) {
    out.push_back({PostureKind::kMtaStsMode, "", "", "no policy"});
  }
}

// Each MX host's TLSA RRset (RFC 7672 §2.2) when its lookup answered: "3 1 1 <data>" per record,
// sorted, then whether the resolver validated it; "(none)" without records.
void AddDaneFacts(const DnsObservation& dns, std::vector<PostureFact>& out) {
  for (const auto& target : dns.mx_targets) {
    const DaneLookup& dane = target.tlsa;
    if (!Answered(dane.lookup.status)) {
      continue;  // not collected, or the lookup failed
    }
    std::vector<std::string> records;
    for (const auto& r : dane.records) {
      records.push_back(std::to_string(r.usage) + " " + std::to_string(r.selector) + " " +
                        std::to_string(r.matching_type) + " " + r.data_hex);
    }
    std::sort(records.begin(), records.end());
    std::string value = records.empty() ? "(none)" : Join(records, ", ");
    if (!records.empty()) {
      value += dane.authenticated ? " (validated)" : " (not validated)";
    }
    out.push_back({PostureKind::kDaneTlsa, target.host, "", Bounded(std::move(value))});
  }
}

// Drops the oldest changes beyond kMaxPostureChanges, STARTTLS changes last: smtp.drift's
// "STARTTLS lost" verdict rests on an endpoint's latest STARTTLS change, which a server whose
// banner changes at every connection must not push out of the log.
void TrimChanges(std::vector<PostureChange>& changes) {
  while (changes.size() > kMaxPostureChanges) {
    auto victim = std::find_if(changes.begin(), changes.end(), [](const PostureChange& c) {
      return c.kind != PostureKind::kStartTls;
    });
    changes.erase(victim != changes.end() ? victim : changes.begin());
  }
}

std::string ErrorAt(const std::string& path, const std::string& what) {
  return "posture history: " + path + ": " + what;
}

}  // namespace

std::string_view PostureKindName(PostureKind kind) {
  for (const auto& [k, name] : kKindNames) {
    if (k == kind) {
      return name;
    }
  }
  return "unknown";
}

std::string_view PostureKindTitle(PostureKind kind) {
  switch (kind) {
    case PostureKind::kMxSet:
      return "MX set";
    case PostureKind::kStartTls:
      return "STARTTLS";
    case PostureKind::kTlsVersion:
      return "TLS version";
    case PostureKind::kExtensions:
      return "EHLO keywords";
    case PostureKind::kBanner:
      return "Banner host name";
    case PostureKind::kAuthBeforeTls:
      return "AUTH before STARTTLS";
    case PostureKind::kPtr:
      return "PTR names";
    case PostureKind::kMtaStsMode:
      return "MTA-STS mode";
    case PostureKind::kDaneTlsa:
      return "TLSA records";
  }
  return "Posture";
}

std::optional<PostureKind> PostureKindFromName(std::string_view name) {
  for (const auto& [kind, n] : kKindNames) {
    if (n == name) {
      return kind;
    }
  }
  return std::nullopt;
}

std::vector<PostureFact> PostureOf(const DomainObservation& obs) {
  std::vector<PostureFact> facts;
  const DnsStatus mx = obs.dns.mx.status;
  if (mx == DnsStatus::kOk || mx == DnsStatus::kNoData) {
    facts.push_back({PostureKind::kMxSet, "", "", MxSetValue(obs.dns)});
  }
  for (const auto& e : obs.endpoints) {
    AddEndpointFacts(e, facts);
  }
  AddReverseFacts(obs, facts);
  AddPolicyFacts(obs, facts);
  AddDaneFacts(obs.dns, facts);
  std::sort(facts.begin(), facts.end(), KeyLess);
  // One endpoint per (mx, ip) and one reverse entry per ip: a repeat would be a bug upstream,
  // and a repeated key must not read as a change between the two copies.
  facts.erase(std::unique(facts.begin(), facts.end(), SameKey), facts.end());
  return facts;
}

const PostureFact* FindPostureFact(const PostureHistory& history, PostureKind kind,
                                   std::string_view mx, std::string_view ip) {
  const PostureFact probe{kind, std::string(mx), std::string(ip), ""};
  const auto it = std::lower_bound(history.facts.begin(), history.facts.end(), probe, KeyLess);
  if (it != history.facts.end() && SameKey(*it, probe)) {
    return &*it;
  }
  return nullptr;
}

PostureHistory AdvancePosture(const PostureHistory* previous, const DomainObservation& obs) {
  PostureHistory next = previous != nullptr ? *previous : PostureHistory{};
  if (next.tracked_since_unix == 0) {
    next.tracked_since_unix = obs.started_at_unix;  // the first check folded in
  }
  const std::vector<PostureFact> now = PostureOf(obs);

  std::map<PostureKind, double> last_change(next.last_change_at.begin(), next.last_change_at.end());
  for (const PostureFact& fact : now) {
    const PostureFact* known = FindPostureFact(next, fact.kind, fact.mx, fact.ip);
    if (known != nullptr && known->value != fact.value) {
      next.changes.push_back(
          {fact.kind, fact.mx, fact.ip, known->value, fact.value, obs.started_at_unix});
      last_change[fact.kind] = obs.started_at_unix;
    }
  }

  // The facts of an endpoint still planned but not observed this time are kept; those of an
  // endpoint or address that left the plan go (the MX set change says so).
  std::set<std::pair<std::string, std::string>> planned;
  std::set<std::string> planned_ips;
  std::set<std::string> mx_hosts;
  for (const auto& endpoint : obs.plan.endpoints) {
    planned.insert({endpoint.mx_name, endpoint.ip.ToString()});
    planned_ips.insert(endpoint.ip.ToString());
  }
  for (const auto& target : obs.dns.mx_targets) {
    mx_hosts.insert(target.host);
  }
  const auto still_there = [&](const PostureFact& old) {
    switch (old.kind) {
      case PostureKind::kMxSet:
      case PostureKind::kMtaStsMode:
        return true;  // the domain's own
      case PostureKind::kPtr:
        return planned_ips.contains(old.ip);
      case PostureKind::kDaneTlsa:
        return mx_hosts.contains(old.mx);
      default:
        return planned.contains({old.mx, old.ip});
    }
  };
  std::vector<PostureFact> merged = now;
  for (const PostureFact& old : next.facts) {
    const bool observed_now = std::binary_search(now.begin(), now.end(), old, KeyLess);
    const bool still_planned = still_there(old);
    if (!observed_now && still_planned) {
      merged.push_back(old);
    }
  }
  std::sort(merged.begin(), merged.end(), KeyLess);
  next.facts = std::move(merged);

  TrimChanges(next.changes);
  next.last_change_at.assign(last_change.begin(), last_change.end());
  return next;
}

json PostureHistoryToJson(const PostureHistory& history) {
  json facts = json::array();
  for (const auto& f : history.facts) {
    facts.push_back({{"kind", PostureKindName(f.kind)}, {"mx", f.mx}, {"ip", f.ip},
                     {"value", f.value}});
  }
  json changes = json::array();
  for (const auto& c : history.changes) {
    changes.push_back({{"kind", PostureKindName(c.kind)},
                       {"mx", c.mx},
                       {"ip", c.ip},
                       {"before", c.before},
                       {"after", c.after},
                       {"at", c.at_unix}});
  }
  json last = json::object();
  for (const auto& [kind, at] : history.last_change_at) {
    last[std::string(PostureKindName(kind))] = at;
  }
  return {{"tracked_since", history.tracked_since_unix},
          {"facts", facts},
          {"changes", changes},
          {"last_change_at", last}};
}

Result<PostureHistory> PostureHistoryFromJson(const json& doc) {
  if (!doc.is_object()) {
    return Error::InvalidArgument(ErrorAt("$", "not an object"));
  }
  PostureHistory history;
  auto string_at = [](const json& object, const char* key, std::string* out) {
    if (!object.contains(key) || !object.at(key).is_string()) {
      return false;
    }
    *out = Bounded(object.at(key).get<std::string>());
    return true;
  };
  auto kind_at = [](const json& object, PostureKind* out) {
    if (!object.contains("kind") || !object.at("kind").is_string()) {
      return false;
    }
    const auto kind = PostureKindFromName(object.at("kind").get<std::string>());
    if (!kind) {
      return false;
    }
    *out = *kind;
    return true;
  };
  if (!doc.contains("tracked_since") || !doc.at("tracked_since").is_number()) {
    return Error::InvalidArgument(ErrorAt("$.tracked_since", "not a number"));
  }
  history.tracked_since_unix = doc.at("tracked_since").get<double>();

  if (!doc.contains("facts") || !doc.at("facts").is_array() ||
      doc.at("facts").size() > kMaxFacts) {
    return Error::InvalidArgument(ErrorAt("$.facts", "not an array of at most 1024 facts"));
  }
  for (std::size_t i = 0; i < doc.at("facts").size(); ++i) {
    const json& item = doc.at("facts").at(i);
    PostureFact fact;
    if (!item.is_object() || !kind_at(item, &fact.kind) || !string_at(item, "mx", &fact.mx) ||
        !string_at(item, "ip", &fact.ip) || !string_at(item, "value", &fact.value)) {
      return Error::InvalidArgument(
          ErrorAt("$.facts[" + std::to_string(i) + "]", "not a fact (kind, mx, ip, value)"));
    }
    history.facts.push_back(std::move(fact));
  }
  // One value per fact, as AdvancePosture keeps them (the first of any repeats).
  std::stable_sort(history.facts.begin(), history.facts.end(), KeyLess);
  history.facts.erase(std::unique(history.facts.begin(), history.facts.end(), SameKey),
                      history.facts.end());

  if (!doc.contains("changes") || !doc.at("changes").is_array()) {
    return Error::InvalidArgument(ErrorAt("$.changes", "not an array"));
  }
  const json& changes = doc.at("changes");
  if (changes.size() > 4 * kMaxPostureChanges) {
    return Error::InvalidArgument(ErrorAt("$.changes", "more changes than any file we write"));
  }
  for (std::size_t i = 0; i < changes.size(); ++i) {
    const json& item = changes.at(i);
    PostureChange change;
    if (!item.is_object() || !kind_at(item, &change.kind) || !string_at(item, "mx", &change.mx) ||
        !string_at(item, "ip", &change.ip) || !string_at(item, "before", &change.before) ||
        !string_at(item, "after", &change.after) || !item.contains("at") ||
        !item.at("at").is_number()) {
      return Error::InvalidArgument(ErrorAt("$.changes[" + std::to_string(i) + "]",
                                            "not a change (kind, mx, ip, before, after, at)"));
    }
    change.at_unix = item.at("at").get<double>();
    history.changes.push_back(std::move(change));
  }
  TrimChanges(history.changes);

  if (!doc.contains("last_change_at") || !doc.at("last_change_at").is_object()) {
    return Error::InvalidArgument(ErrorAt("$.last_change_at", "not an object"));
  }
  std::map<PostureKind, double> last;
  for (const auto& [name, at] : doc.at("last_change_at").items()) {
    const auto kind = PostureKindFromName(name);
    if (!kind || !at.is_number()) {
      return Error::InvalidArgument(
          ErrorAt("$.last_change_at." + name, "not a known kind with a number"));
    }
    last[*kind] = at.get<double>();
  }
  history.last_change_at.assign(last.begin(), last.end());
  return history;
}

}  // namespace smtp_exporter
