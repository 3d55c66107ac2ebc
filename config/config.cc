#include "config/config.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <sstream>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "config/check_option_table.h"
#include "config/domain_name.h"
#include "config/duration.h"

namespace smtp_exporter {
namespace {

using std::chrono::milliseconds;

// A config file is a few kilobytes; refuse to read anything absurdly large.
constexpr std::uintmax_t kMaxConfigBytes = 16 * 1024 * 1024;

constexpr std::int64_t kMaxConcurrency = 1024;
constexpr std::int64_t kMaxEndpointConcurrency = 64;
constexpr std::int64_t kMaxPerIpConnections = 64;
constexpr milliseconds kMinInterval = std::chrono::seconds(1);
constexpr milliseconds kMinDnsTimeout = milliseconds(1);
constexpr milliseconds kMaxDnsTimeout = std::chrono::minutes(1);
constexpr milliseconds kDefaultJitter = std::chrono::seconds(30);

constexpr std::string_view kDurationForms = "such as 30s, 5m, 1h30m, 250ms or integer seconds";

// Keys of each section. Both "global:" and "domains:" entries also take every per-check
// option of the option table (CheckOptionSpecs), listed after these: one home for them.
constexpr std::array<std::string_view, 4> kTopKeys = {"global", "probe", "metrics", "domains"};
constexpr std::array<std::string_view, 9> kGlobalOwnKeys = {
    "interval",        "jitter",         "concurrency",
    "endpoint_concurrency", "per_ip_connections", "domains_per_session",
    "dns_servers",     "dns_timeout",    "denied_networks"};
constexpr std::array<std::string_view, 4> kProbeKeys = {
    "denied_networks", "pinned_options", "only_configured_domains", "allowed_domains"};
constexpr std::array<std::string_view, 2> kMetricsKeys = {"extensions", "phase_durations"};
constexpr std::array<std::string_view, 3> kDomainOwnKeys = {"name", "interval", "dns_servers"};

std::vector<std::string_view> WithCheckOptionKeys(std::span<const std::string_view> own) {
  std::vector<std::string_view> keys(own.begin(), own.end());
  for (const CheckOptionSpec& spec : CheckOptionSpecs()) {
    keys.push_back(spec.key);
  }
  return keys;
}

// The allowed keys of "global:" and of a "domains:" entry; built once, never freed.
const std::vector<std::string_view>& GlobalKeys() {
  static const auto* const keys =
      new std::vector<std::string_view>(WithCheckOptionKeys(kGlobalOwnKeys));
  return *keys;
}
const std::vector<std::string_view>& DomainKeys() {
  static const auto* const keys =
      new std::vector<std::string_view>(WithCheckOptionKeys(kDomainOwnKeys));
  return *keys;
}

enum class Section { kTop, kGlobal, kProbe, kMetrics, kDomain };

bool Contains(std::span<const std::string_view> keys, std::string_view key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

std::string Join(std::span<const std::string_view> keys) {
  std::string out;
  for (std::string_view key : keys) {
    if (!out.empty()) {
      out += ", ";
    }
    out += key;
  }
  return out;
}

// How a value that could not be used is shown after "got".
// How a value of `spec`'s type is written, for "must be ..." messages.
std::string_view ExpectedForm(const CheckOptionSpec& spec) {
  switch (spec.type) {
    case CheckOptionType::kDuration:
      return "a duration such as 30s, 5m, 1h30m, 250ms or integer seconds";
    case CheckOptionType::kBool:
      return "true or false";
    case CheckOptionType::kPort:
      return "an integer from 1 to 65535";
    case CheckOptionType::kHostName:
      return "a host name";
    case CheckOptionType::kMailAddress:
      return "a mail address (local@domain)";
    case CheckOptionType::kFilePath:
      return "a file name";
    case CheckOptionType::kSubmissionPorts:
      return "a list of 587 and/or 465";
  }
  return "a string";
}

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return Quote(node.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

std::string Where(const YAML::Mark& mark) {
  return "line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1);
}

std::size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The closest allowed key to a misspelt one, if it is close enough to be a typo.
std::optional<std::string_view> Suggest(std::span<const std::string_view> keys,
                                        std::string_view key) {
  std::optional<std::string_view> best;
  std::size_t best_distance = 3;  // at most two edits
  for (std::string_view candidate : keys) {
    const std::size_t distance = EditDistance(candidate, key);
    if (distance < best_distance && distance < candidate.size() / 2 + 1) {
      best = candidate;
      best_distance = distance;
    }
  }
  if (best || key.size() < 3) {
    return best;
  }
  // A shortened key ("helo" for "helo_name").
  for (std::string_view candidate : keys) {
    if (candidate.starts_with(key)) {
      return candidate;
    }
  }
  return std::nullopt;
}

std::string UnknownKeyMessage(Section section, const std::string& key) {
  const std::string quoted = Quote(key);
  switch (section) {
    case Section::kTop:
      if (Contains(GlobalKeys(), key)) {
        return "key " + quoted + " is not allowed at the top level; set it under \"global:\"";
      }
      if (Contains(DomainKeys(), key)) {
        return "key " + quoted + " is not allowed at the top level; it belongs in a " +
               "\"domains:\" entry";
      }
      if (auto suggestion = Suggest(kTopKeys, key)) {
        return "unknown top-level key " + quoted + "; did you mean \"" + std::string(*suggestion) +
               "\"?";
      }
      return "unknown top-level key " + quoted + "; allowed keys: " + Join(kTopKeys);
    case Section::kGlobal:
      if (Contains(kTopKeys, key)) {
        return "key " + quoted + " is not allowed under \"global:\"; it is a top-level key";
      }
      if (Contains(DomainKeys(), key)) {
        return "key " + quoted + " is not allowed under \"global:\"; it belongs in a " +
               "\"domains:\" entry";
      }
      if (auto suggestion = Suggest(GlobalKeys(), key)) {
        return "unknown key " + quoted + " under \"global:\"; did you mean \"" +
               std::string(*suggestion) + "\"?";
      }
      return "unknown key " + quoted + " under \"global:\"; allowed keys: " + Join(GlobalKeys());
    case Section::kProbe:
      if (auto suggestion = Suggest(kProbeKeys, key)) {
        return "unknown key " + quoted + " under \"probe:\"; did you mean \"" +
               std::string(*suggestion) + "\"?";
      }
      return "unknown key " + quoted + " under \"probe:\"; allowed keys: " + Join(kProbeKeys);
    case Section::kMetrics:
      if (auto suggestion = Suggest(kMetricsKeys, key)) {
        return "unknown key " + quoted + " under \"metrics:\"; did you mean \"" +
               std::string(*suggestion) + "\"?";
      }
      return "unknown key " + quoted + " under \"metrics:\"; allowed keys: " + Join(kMetricsKeys);
    case Section::kDomain:
      if (Contains(GlobalKeys(), key)) {
        return "key " + quoted + " is not allowed in a \"domains:\" entry; set it under " +
               "\"global:\"";
      }
      if (Contains(kTopKeys, key)) {
        return "key " + quoted + " is not allowed in a \"domains:\" entry; it is a top-level key";
      }
      if (auto suggestion = Suggest(DomainKeys(), key)) {
        return "unknown key " + quoted + " in a \"domains:\" entry; did you mean \"" +
               std::string(*suggestion) + "\"?";
      }
      return "unknown key " + quoted +
             " in a \"domains:\" entry; allowed keys: " + Join(DomainKeys());
  }
  return "unknown key " + quoted;
}

// A decimal integer (digits, optionally after a minus sign), or nullopt.
std::optional<std::int64_t> ParseInteger(std::string_view text) {
  const bool negative = text.starts_with('-');
  const std::string_view digits = negative ? text.substr(1) : text;
  if (digits.empty() || digits.size() > 15 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  std::int64_t value = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), value);
  return negative ? -value : value;
}

// A value set in the file, with where it was, so that cross-checks can point at it.
template <typename T>
struct Located {
  T value;
  YAML::Mark mark;
};

// The keys one mapping (global or a domain entry) sets; unset ones keep the defaults.
struct Overrides {
  // Check options as written (already validated), applied in order through the option table.
  std::vector<std::pair<const CheckOptionSpec*, std::string>> options;
  std::optional<Located<milliseconds>> interval;
  std::optional<std::vector<HostPort>> dns_servers;
};

void ApplyOverrides(const Overrides& overrides, CheckOptions& options) {
  for (const auto& [spec, text] : overrides.options) {
    (void)SetCheckOption(*spec, text, options);  // validated when read
  }
}

// Counts the documents of a YAML stream without building nodes, and notices when the parser
// makes no progress: yaml-cpp 0.7 neither consumes nor rejects a stray "," outside a flow
// collection, so YAML::LoadAll() loops forever, allocating a null document per turn
// (jbeder/yaml-cpp#1040, fixed upstream by #1318 and #1319). Documents are therefore counted
// here in a bounded loop, and only the first one is loaded.
class DocumentScanner final : public YAML::EventHandler {
 public:
  struct Result {
    std::size_t documents = 0;
    std::optional<YAML::Mark> second;  // where a second document starts
    std::optional<YAML::Mark> stuck;   // where the parser stopped making progress
  };

  static Result Scan(const std::string& text) {
    std::istringstream stream(text);
    YAML::Parser parser(stream);
    DocumentScanner scanner;
    Result result;
    // Three turns are enough to see a second document or a turn that starts where the one
    // before it did (nothing consumed: the parser is stuck).
    while (result.documents < 3 && parser.HandleNextDocument(scanner)) {
      ++result.documents;
      const std::size_t n = scanner.starts_.size();
      if (n >= 2 && scanner.starts_[n - 1].pos == scanner.starts_[n - 2].pos) {
        result.stuck = scanner.starts_[n - 1];
        return result;
      }
    }
    if (scanner.starts_.size() >= 2) {
      result.second = scanner.starts_[1];
    }
    return result;
  }

  void OnDocumentStart(const YAML::Mark& mark) override { starts_.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  std::vector<YAML::Mark> starts_;
};

// Turns the YAML tree into a Config. Methods return false (or nullopt) after recording the
// problem in error_; only the first problem is kept.
class Parser {
 public:
  explicit Parser(const std::string& source) : source_(source) {}

  Result<Config> Parse(const std::string& text);

 private:
  using KeyHandler = std::function<bool(const std::string& key, const YAML::Node& key_node,
                                        const YAML::Node& value)>;

  bool Fail(const YAML::Mark& mark, const std::string& message);

  // Where a problem with `value` is reported: an empty value has no position of its own
  // (yaml-cpp marks the next token), so its key is shown instead.
  static YAML::Mark ValueMark(const YAML::Node& key_node, const YAML::Node& value) {
    return value.IsNull() ? key_node.Mark() : value.Mark();
  }

  // Calls `handler` for each key of `map` after rejecting non-scalar, unknown and duplicate
  // keys.
  bool ForEachKey(const YAML::Node& map, Section section, std::span<const std::string_view> allowed,
                  const KeyHandler& handler);
  bool ParseTop(const YAML::Node& root, Config& config);
  bool ParseGlobal(const YAML::Node& global, Config& config);
  bool ParseProbe(const YAML::Node& probe, Config& config);
  bool ParseMetrics(const YAML::Node& metrics, Config& config);
  bool ParseDomain(const YAML::Node& entry, const Config& config, DomainConfig& out);
  // The keys a domain entry may override, shared by "global:" and "domains:" entries.
  bool ParseCheckKey(const std::string& key, const YAML::Node& key_node, const YAML::Node& value,
                     Overrides& out);
  bool SetJitter(Config& config);

  std::optional<milliseconds> Duration(const std::string& key, const YAML::Node& key_node,
                                       const YAML::Node& value, milliseconds min,
                                       std::optional<milliseconds> max);
  std::optional<std::int64_t> Count(const std::string& key, const YAML::Node& key_node,
                                    const YAML::Node& value, std::int64_t max);
  std::optional<bool> Bool(const std::string& key, const YAML::Node& key_node,
                           const YAML::Node& value);
  std::optional<std::string> String(const std::string& key, const YAML::Node& key_node,
                                    const YAML::Node& value);
  std::optional<std::vector<HostPort>> DnsServers(const std::string& key,
                                                  const YAML::Node& key_node,
                                                  const YAML::Node& value);
  std::optional<std::vector<IpNetwork>> Networks(const std::string& key, const YAML::Node& key_node,
                                                 const YAML::Node& value);

  std::string source_;
  std::optional<Error> error_;
  std::optional<Located<milliseconds>> jitter_;                  // set explicitly under global
  std::vector<Located<milliseconds>> domain_intervals_;          // set explicitly per domain
  std::map<std::string, YAML::Mark, std::less<>> domain_names_;  // normalised name -> mark
};

bool Parser::Fail(const YAML::Mark& mark, const std::string& message) {
  if (!error_) {
    const int line = mark.line < 0 ? 1 : mark.line + 1;
    const int column = mark.column < 0 ? 1 : mark.column + 1;
    error_ = Error::InvalidArgument(source_ + ":" + std::to_string(line) + ":" +
                                    std::to_string(column) + ": " + message);
  }
  return false;
}

Result<Config> Parser::Parse(const std::string& text) {
  YAML::Node root;
  DocumentScanner::Result documents;
  try {
    documents = DocumentScanner::Scan(text);
    if (documents.stuck) {
      const auto pos = static_cast<std::size_t>(std::max(documents.stuck->pos, 0));
      Fail(*documents.stuck,
           "YAML syntax error: unexpected " +
               (pos < text.size() ? Quote(text.substr(pos, 1)) : std::string("end of input")));
      return *error_;
    }
    if (documents.documents > 0) {
      root = YAML::Load(text);
    }
  } catch (const YAML::ParserException& e) {
    // yaml-cpp may quote the offending character verbatim (a control byte, say).
    Fail(e.mark, "YAML syntax error: " + Printable(e.msg, /*quoted=*/false));
    return *error_;
  }
  Config config;
  if (documents.documents == 0 || root.IsNull()) {
    Fail(YAML::Mark::null_mark(),
         "the config is empty; it needs at least a \"domains:\" list (\"domains: []\" for none)");
  } else if (documents.second) {
    Fail(*documents.second, "only one YAML document is allowed, found a second one");
  } else {
    ParseTop(root, config);
  }
  if (error_) {
    return *error_;
  }
  return config;
}

bool Parser::ForEachKey(const YAML::Node& map, Section section,
                        std::span<const std::string_view> allowed, const KeyHandler& handler) {
  std::map<std::string, YAML::Mark, std::less<>> seen;
  // The range-for keeps each key/value pair alive; `it->first` would dangle (yaml-cpp's
  // operator-> returns a temporary proxy).
  for (const auto& pair : map) {
    const YAML::Node& key_node = pair.first;
    if (!key_node.IsScalar()) {
      return Fail(key_node.Mark(), "keys must be plain names, got " + Describe(key_node));
    }
    const std::string& key = key_node.Scalar();
    if (!Contains(allowed, key)) {
      return Fail(key_node.Mark(), UnknownKeyMessage(section, key));
    }
    if (const auto first = seen.find(key); first != seen.end()) {
      return Fail(key_node.Mark(),
                  "duplicate key " + Quote(key) + " (first at " + Where(first->second) + ")");
    }
    seen.emplace(key, key_node.Mark());
    if (!handler(key, key_node, pair.second)) {
      return false;
    }
  }
  return true;
}

bool Parser::ParseTop(const YAML::Node& root, Config& config) {
  if (!root.IsMap()) {
    return Fail(
        root.Mark(),
        "the top level must be a mapping with \"global:\" and \"domains:\", got " + Describe(root));
  }
  // A default-constructed YAML::Node counts as defined (a null), hence the optionals.
  std::optional<YAML::Node> global;
  std::optional<YAML::Node> probe;
  std::optional<YAML::Node> metrics;
  std::optional<YAML::Node> domains;
  const bool ok = ForEachKey(
      root, Section::kTop, kTopKeys,
      [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) {
        if (key == "global") {
          if (!value.IsMap()) {
            return Fail(ValueMark(key_node, value),
                        "\"global:\" must be a mapping, got " + Describe(value));
          }
          global = value;
          return true;
        }
        if (key == "probe") {
          if (!value.IsMap()) {
            return Fail(ValueMark(key_node, value),
                        "\"probe:\" must be a mapping, got " + Describe(value));
          }
          probe = value;
          return true;
        }
        if (key == "metrics") {
          if (!value.IsMap()) {
            return Fail(ValueMark(key_node, value),
                        "\"metrics:\" must be a mapping, got " + Describe(value));
          }
          metrics = value;
          return true;
        }
        if (!value.IsSequence()) {
          return Fail(ValueMark(key_node, value),
                      "\"domains:\" must be a list of mappings such as \"- name: example.org\" "
                      "(\"domains: []\" for none), got " +
                          Describe(value));
        }
        domains = value;
        return true;
      });
  if (!ok) {
    return false;
  }
  if (!domains) {
    return Fail(root.Mark(),
                "missing \"domains:\", the list of domains to check (\"domains: []\" to serve "
                "/probe only)");
  }
  if (global && !ParseGlobal(*global, config)) {
    return false;
  }
  if (probe && !ParseProbe(*probe, config)) {
    return false;
  }
  if (metrics && !ParseMetrics(*metrics, config)) {
    return false;
  }
  if (config.defaults.helo_name.empty()) {
    config.defaults.helo_name = DefaultHeloName();
  }
  for (const YAML::Node& entry : *domains) {
    DomainConfig domain;
    if (!ParseDomain(entry, config, domain)) {
      return false;
    }
    config.domains.push_back(std::move(domain));
  }
  return SetJitter(config);
}

bool Parser::ParseGlobal(const YAML::Node& global, Config& config) {
  Overrides overrides;
  const bool ok = ForEachKey(
      global, Section::kGlobal, GlobalKeys(),
      [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) {
        if (key == "jitter") {
          const auto parsed = Duration(key, key_node, value, milliseconds(0), std::nullopt);
          if (!parsed) {
            return false;
          }
          jitter_ = Located<milliseconds>{*parsed, ValueMark(key_node, value)};
          return true;
        }
        if (key == "concurrency" || key == "endpoint_concurrency" || key == "per_ip_connections" ||
            key == "domains_per_session") {
          const std::int64_t max = key == "concurrency"            ? kMaxConcurrency
                                   : key == "endpoint_concurrency" ? kMaxEndpointConcurrency
                                   : key == "per_ip_connections"   ? kMaxPerIpConnections
                                                                   : static_cast<std::int64_t>(
                                                                         kMaxDomainsPerSession);
          const auto parsed = Count(key, key_node, value, max);
          if (!parsed) {
            return false;
          }
          const auto count = static_cast<std::size_t>(*parsed);
          if (key == "concurrency") {
            config.concurrency = count;
          } else if (key == "endpoint_concurrency") {
            config.endpoint_concurrency = count;
          } else if (key == "domains_per_session") {
            config.domains_per_session = count;
          } else {
            config.per_ip_connections = count;
          }
          return true;
        }
        if (key == "dns_timeout") {
          const auto parsed = Duration(key, key_node, value, kMinDnsTimeout, kMaxDnsTimeout);
          if (!parsed) {
            return false;
          }
          config.dns_timeout = *parsed;
          return true;
        }
        if (key == "denied_networks") {
          auto networks = Networks(key, key_node, value);
          if (!networks) {
            return false;
          }
          config.denied_networks = std::move(*networks);
          return true;
        }
        return ParseCheckKey(key, key_node, value, overrides);
      });
  if (!ok) {
    return false;
  }
  ApplyOverrides(overrides, config.defaults);
  if (overrides.interval) {
    config.interval = overrides.interval->value;
  }
  if (overrides.dns_servers) {
    config.dns_servers = *overrides.dns_servers;
  }
  return true;
}

bool Parser::ParseMetrics(const YAML::Node& metrics, Config& config) {
  return ForEachKey(
      metrics, Section::kMetrics, kMetricsKeys,
      [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) {
        const std::optional<bool> flag = Bool(key, key_node, value);
        if (!flag) {
          return false;
        }
        (key == "extensions" ? config.metrics.extensions : config.metrics.phase_durations) = *flag;
        return true;
      });
}

bool Parser::ParseProbe(const YAML::Node& probe, Config& config) {
  return ForEachKey(
      probe, Section::kProbe, kProbeKeys,
      [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) {
        if (key == "denied_networks") {
          auto networks = Networks(key, key_node, value);
          if (!networks) {
            return false;
          }
          config.probe.denied_networks = std::move(*networks);
          return true;
        }
        if (key == "only_configured_domains") {
          const std::optional<bool> flag = Bool(key, key_node, value);
          if (!flag) {
            return false;
          }
          config.probe.only_configured_domains = *flag;
          return true;
        }
        if (key == "allowed_domains") {
          if (!value.IsSequence()) {
            return Fail(ValueMark(key_node, value),
                        key + " must be a list of domains such as [example.org, "
                              "\"*.example.net\"], got " + Describe(value));
          }
          std::vector<std::string> patterns;
          for (const YAML::Node& item : value) {
            const std::string text = item.IsScalar() ? item.Scalar() : "";
            const bool wildcard = text.rfind("*.", 0) == 0;
            const std::string_view name =
                wildcard ? std::string_view(text).substr(2) : std::string_view(text);
            if (Status valid = ValidateHostName(name); !item.IsScalar() || !valid.ok()) {
              return Fail(item.Mark(), key + " entries must be a domain or *.domain, got " +
                                           Describe(item));
            }
            patterns.push_back((wildcard ? "*." : "") + NormaliseHostName(name));
          }
          config.probe.allowed_domains = std::move(patterns);
          return true;
        }
        // pinned_options: a list of check option keys that /probe may set.
        if (!value.IsSequence()) {
          return Fail(ValueMark(key_node, value),
                      key +
                          " must be a list of option names such as [helo_name, "
                          "test_probe_address], got " +
                          Describe(value));
        }
        std::vector<std::string> pinned;
        for (const YAML::Node& item : value) {
          if (!item.IsScalar()) {
            return Fail(item.Mark(), key + " entries must be option names, got " + Describe(item));
          }
          const CheckOptionSpec* spec = FindCheckOption(item.Scalar());
          if (spec == nullptr || !spec->probe_parameter) {
            return Fail(item.Mark(), key + " entry " + Quote(item.Scalar()) +
                                         " is not an option /probe can set");
          }
          pinned.push_back(item.Scalar());
        }
        config.probe.pinned_options = std::move(pinned);
        return true;
      });
}

bool Parser::ParseDomain(const YAML::Node& entry, const Config& config, DomainConfig& out) {
  if (!entry.IsMap()) {
    return Fail(entry.Mark(),
                "each \"domains:\" entry must be a mapping such as \"- name: example.org\", got " +
                    Describe(entry));
  }
  Overrides overrides;
  std::optional<Located<std::string>> name;
  const bool ok = ForEachKey(
      entry, Section::kDomain, DomainKeys(),
      [&](const std::string& key, const YAML::Node& key_node, const YAML::Node& value) {
        if (key != "name") {
          return ParseCheckKey(key, key_node, value, overrides);
        }
        const auto text = String(key, key_node, value);
        if (!text) {
          return false;
        }
        if (Status valid = ValidateHostName(*text); !valid.ok()) {
          return Fail(ValueMark(key_node, value),
                      "domain name " + Quote(*text) + " is invalid: " + valid.message());
        }
        name = Located<std::string>{NormaliseHostName(*text), ValueMark(key_node, value)};
        return true;
      });
  if (!ok) {
    return false;
  }
  if (!name) {
    return Fail(entry.Mark(), "this \"domains:\" entry has no \"name:\"");
  }
  if (const auto first = domain_names_.find(name->value); first != domain_names_.end()) {
    return Fail(name->mark, "duplicate domain " + Quote(name->value) + " (first at " +
                                Where(first->second) + ")");
  }
  domain_names_.emplace(name->value, name->mark);
  out.name = name->value;
  out.options = config.defaults;
  ApplyOverrides(overrides, out.options);
  out.interval = config.interval;
  if (overrides.interval) {
    out.interval = overrides.interval->value;
    domain_intervals_.push_back(*overrides.interval);
  }
  out.dns_servers = overrides.dns_servers ? *overrides.dns_servers : config.dns_servers;
  return true;
}

bool Parser::ParseCheckKey(const std::string& key, const YAML::Node& key_node,
                           const YAML::Node& value, Overrides& out) {
  // The per-check options come from the option table, as for the CLI and /probe.
  if (const CheckOptionSpec* spec = FindCheckOption(key)) {
    std::string text;
    if (spec->type == CheckOptionType::kSubmissionPorts && value.IsSequence()) {
      // `submission: [587, 465]`: the list is read as the option table's "587,465".
      for (const YAML::Node& item : value) {
        if (!item.IsScalar()) {
          return Fail(item.Mark(), key + " must be " + std::string(ExpectedForm(*spec)) + ", got " +
                                       Describe(item) + " in the list");
        }
        text += (text.empty() ? "" : ",") + item.Scalar();
      }
    } else if (!value.IsScalar()) {
      return Fail(ValueMark(key_node, value), key + " must be " + std::string(ExpectedForm(*spec)) +
                                                  ", got " + Describe(value));
    } else {
      text = value.Scalar();
    }
    CheckOptions scratch;
    if (Status set = SetCheckOption(*spec, text, scratch); !set.ok()) {
      return Fail(ValueMark(key_node, value), key + " " + set.message());
    }
    out.options.emplace_back(spec, text);
    return true;
  }
  if (key == "interval") {
    const auto parsed = Duration(key, key_node, value, kMinInterval, std::nullopt);
    if (!parsed) {
      return false;
    }
    out.interval = Located<milliseconds>{*parsed, ValueMark(key_node, value)};
    return true;
  }
  if (key == "dns_servers") {
    out.dns_servers = DnsServers(key, key_node, value);
    return out.dns_servers.has_value();
  }
  // ForEachKey only passes allowed keys, and every allowed key is handled above.
  return Fail(key_node.Mark(), "internal error: unhandled key " + Quote(key));
}

bool Parser::SetJitter(Config& config) {
  if (jitter_) {
    // The scheduler spreads each check over interval ± jitter: past half an interval, two
    // checks of one domain could come almost back to back.
    if (jitter_->value * 2 > config.interval) {
      return Fail(jitter_->mark, "jitter (" + FormatDuration(jitter_->value) +
                                     ") must be at most half of interval (" +
                                     FormatDuration(config.interval) + ")");
    }
    for (const auto& interval : domain_intervals_) {
      if (jitter_->value * 2 > interval.value) {
        return Fail(interval.mark, "interval (" + FormatDuration(interval.value) +
                                       ") must be at least twice the global jitter (" +
                                       FormatDuration(jitter_->value) + ")");
      }
    }
    config.jitter = jitter_->value;
    return true;
  }
  milliseconds shortest = config.interval;
  for (const auto& interval : domain_intervals_) {
    shortest = std::min(shortest, interval.value);
  }
  config.jitter = std::min(kDefaultJitter, shortest / 10);
  return true;
}

std::optional<milliseconds> Parser::Duration(const std::string& key, const YAML::Node& key_node,
                                             const YAML::Node& value, milliseconds min,
                                             std::optional<milliseconds> max) {
  const std::optional<milliseconds> parsed =
      value.IsScalar() ? ParseDuration(value.Scalar()) : std::nullopt;
  if (!parsed) {
    Fail(ValueMark(key_node, value),
         key + " must be a duration " + std::string(kDurationForms) + ", got " + Describe(value));
    return std::nullopt;
  }
  if (max && (*parsed < min || *parsed > *max)) {
    Fail(value.Mark(), key + " must be between " + FormatDuration(min) + " and " +
                           FormatDuration(*max) + ", got " + FormatDuration(*parsed));
    return std::nullopt;
  }
  if (*parsed < min) {
    Fail(value.Mark(),
         key + " must be at least " + FormatDuration(min) + ", got " + FormatDuration(*parsed));
    return std::nullopt;
  }
  return parsed;
}

std::optional<bool> Parser::Bool(const std::string& key, const YAML::Node& key_node,
                                 const YAML::Node& value) {
  const std::optional<bool> parsed =
      value.IsScalar() ? ParseBoolText(value.Scalar()) : std::nullopt;
  if (!parsed) {
    Fail(ValueMark(key_node, value), key + " must be true or false, got " + Describe(value));
  }
  return parsed;
}

std::optional<std::int64_t> Parser::Count(const std::string& key, const YAML::Node& key_node,
                                          const YAML::Node& value, std::int64_t max) {
  const std::string expected = max == 65535
                                   ? "an integer from 1 to 65535"
                                   : "a positive integer (at most " + std::to_string(max) + ")";
  const std::optional<std::int64_t> parsed =
      value.IsScalar() ? ParseInteger(value.Scalar()) : std::nullopt;
  if (!parsed) {
    Fail(ValueMark(key_node, value), key + " must be " + expected + ", got " + Describe(value));
    return std::nullopt;
  }
  if (*parsed < 1 || *parsed > max) {
    Fail(value.Mark(), key + " must be " + expected + ", got " + std::to_string(*parsed));
    return std::nullopt;
  }
  return parsed;
}

std::optional<std::string> Parser::String(const std::string& key, const YAML::Node& key_node,
                                          const YAML::Node& value) {
  if (!value.IsScalar()) {
    Fail(ValueMark(key_node, value), key + " must be a string, got " + Describe(value));
    return std::nullopt;
  }
  return value.Scalar();
}

std::optional<std::vector<HostPort>> Parser::DnsServers(const std::string& key,
                                                        const YAML::Node& key_node,
                                                        const YAML::Node& value) {
  if (!value.IsSequence()) {
    Fail(ValueMark(key_node, value),
         key +
             " must be a list of IP[:PORT] literals such as [\"192.0.2.53\", "
             "\"[2001:db8::53]:53\"] ([] for the system resolver), got " +
             Describe(value));
    return std::nullopt;
  }
  std::vector<HostPort> servers;
  for (const YAML::Node& item : value) {
    if (!item.IsScalar()) {
      Fail(item.Mark(), key + " entries must be strings, got " + Describe(item));
      return std::nullopt;
    }
    Result<HostPort> server = ParseHostPort(item.Scalar(), kDnsPort);
    if (!server.ok()) {
      Fail(item.Mark(), key + " entry " + Quote(item.Scalar()) +
                            " is invalid: " + server.error().message +
                            " (the forms are IP, IP:PORT, IPv6 and [IPv6]:PORT; host names are "
                            "not resolved)");
      return std::nullopt;
    }
    servers.push_back(server.value());
  }
  return servers;
}

std::optional<std::vector<IpNetwork>> Parser::Networks(const std::string& key,
                                                       const YAML::Node& key_node,
                                                       const YAML::Node& value) {
  if (!value.IsSequence()) {
    Fail(ValueMark(key_node, value),
         key +
             " must be a list of networks such as [\"10.0.0.0/8\", \"fc00::/7\"] ([] for "
             "none), got " +
             Describe(value));
    return std::nullopt;
  }
  std::vector<IpNetwork> networks;
  for (const YAML::Node& item : value) {
    if (!item.IsScalar()) {
      Fail(item.Mark(), key + " entries must be strings, got " + Describe(item));
      return std::nullopt;
    }
    Result<IpNetwork> network = IpNetwork::Parse(item.Scalar());
    if (!network.ok()) {
      Fail(item.Mark(), key + " entry " + network.error().message);
      return std::nullopt;
    }
    networks.push_back(network.value());
  }
  return networks;
}

}  // namespace

std::vector<IpNetwork> DefaultProbeDeniedNetworks() {
  static constexpr std::array<std::string_view, 16> kNetworks = {
      "0.0.0.0/8",       // "this network" (RFC 791, RFC 6890)
      "10.0.0.0/8",      // private (RFC 1918)
      "100.64.0.0/10",   // carrier-grade NAT (RFC 6598)
      "127.0.0.0/8",     // loopback (RFC 1122)
      "169.254.0.0/16",  // link-local (RFC 3927)
      "172.16.0.0/12",   // private (RFC 1918)
      "192.0.0.0/24",    // IETF protocol assignments (RFC 6890)
      "192.168.0.0/16",  // private (RFC 1918)
      "198.18.0.0/15",   // benchmarking (RFC 2544), often lab networks
      "224.0.0.0/4",     // multicast (RFC 5771)
      "240.0.0.0/4",     // reserved, and the limited broadcast address (RFC 1112, RFC 919)
      "::/128",          // unspecified (RFC 4291)
      "::1/128",         // loopback (RFC 4291)
      "fc00::/7",        // unique-local (RFC 4193)
      "fe80::/10",       // link-local (RFC 4291)
      "ff00::/8",        // multicast (RFC 4291)
  };
  // IPv4-mapped IPv6 addresses (::ffff:0:0/96) match the IPv4 entries (IpNetwork::Contains).
  std::vector<IpNetwork> networks;
  for (std::string_view text : kNetworks) {
    networks.push_back(IpNetwork::Parse(text).value());
  }
  return networks;
}

Result<Config> ParseConfig(const std::string& yaml_text, const std::string& source_name) {
  // yaml-cpp reports problems by throwing; none of its exceptions may leave config/.
  try {
    Parser parser(source_name);
    return parser.Parse(yaml_text);
  } catch (const YAML::Exception& e) {
    const int line = e.mark.line < 0 ? 1 : e.mark.line + 1;
    const int column = e.mark.column < 0 ? 1 : e.mark.column + 1;
    return Error::InvalidArgument(source_name + ":" + std::to_string(line) + ":" +
                                  std::to_string(column) + ": " +
                                  Printable(e.msg, /*quoted=*/false));
  } catch (const std::exception& e) {
    return Error::InvalidArgument(source_name + ":1:1: " + Printable(e.what(), /*quoted=*/false));
  }
}

Result<Config> LoadConfigFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Error::Io(path + ": cannot read: it is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    return Error::Io(path + ": cannot open: " + std::generic_category().message(error));
  }
  std::string text;
  std::array<char, 8192> buffer{};
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    text.append(buffer.data(), static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxConfigBytes) {
      return Error::Io(path + ": cannot read: larger than " +
                       std::to_string(kMaxConfigBytes / (1024 * 1024)) + " MiB");
    }
  }
  if (in.bad()) {
    return Error::Io(path + ": cannot read: I/O error");
  }
  return ParseConfig(text, path);
}

bool ProbeAllowsDomain(const ProbeConfig& probe, const std::string& name, bool configured) {
  if (!probe.only_configured_domains && probe.allowed_domains.empty()) {
    return true;
  }
  if (probe.only_configured_domains && configured) {
    return true;
  }
  for (const std::string& pattern : probe.allowed_domains) {
    if (pattern.rfind("*.", 0) == 0) {
      const std::string_view suffix = std::string_view(pattern).substr(1);  // ".example.org"
      if (name.size() > suffix.size() &&
          std::string_view(name).substr(name.size() - suffix.size()) == suffix) {
        return true;
      }
    } else if (name == pattern) {
      return true;
    }
  }
  return false;
}

}  // namespace smtp_exporter
