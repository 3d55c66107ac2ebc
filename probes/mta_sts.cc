// The pure half of probes/mta_sts.h: the record and policy parsers and the MX pattern match.
// The fetch and the collection are in mta_sts_fetch.cc.
#include "probes/mta_sts.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/base/quote.h"
#include "config/domain_name.h"

namespace smtp_exporter {
namespace {

// Field names of both records' extensions and of the policy's keys (RFC 8461 §3.1/§3.2,
// RFC 8460 §3): an alphanumeric, then up to 31 alphanumerics, "_", "-" or ".".
bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool IsExtensionName(std::string_view name) {
  if (name.empty() || name.size() > 32 || !IsAlnum(name[0])) {
    return false;
  }
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return IsAlnum(c) || c == '_' || c == '-' || c == '.'; });
}

// sts-ext-value / tlsrpt-ext-value: printable ASCII except SP, ";" and "=".
bool IsExtensionValue(std::string_view value) {
  if (value.empty()) {
    return false;
  }
  return std::all_of(value.begin(), value.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x21 && u <= 0x7e && c != ';' && c != '=';
  });
}

bool IsWsp(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimWsp(std::string_view text) {
  while (!text.empty() && IsWsp(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && IsWsp(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

// Splits a "v=...; a=b; c=d" record at ";" into trimmed fields (an empty last field from a
// trailing ";" is dropped). Nullopt for an empty field in the middle ("a=b;;c=d").
std::optional<std::vector<std::string_view>> SplitFields(std::string_view record) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  while (start <= record.size()) {
    const std::size_t end = std::min(record.find(';', start), record.size());
    fields.push_back(TrimWsp(record.substr(start, end - start)));
    start = end + 1;
  }
  if (!fields.empty() && fields.back().empty() && fields.size() > 1) {
    fields.pop_back();
  }
  for (std::string_view field : fields) {
    if (field.empty()) {
      return std::nullopt;
    }
  }
  return fields;
}

std::string Shown(std::string_view text) { return Quote(text.substr(0, 80)); }

// Splits `field` at its first "=" into name and value.
bool SplitKeyValue(std::string_view field, std::string_view* name, std::string_view* value) {
  const std::size_t eq = field.find('=');
  if (eq == std::string_view::npos) {
    return false;
  }
  *name = field.substr(0, eq);
  *value = field.substr(eq + 1);
  return true;
}

// A host name as DNS spells it: LDH labels, 1-63 bytes each, at most 253 in all.
bool IsDomain(std::string_view name) { return !name.empty() && ValidateHostName(name).ok(); }

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view WithoutTrailingDot(std::string_view name) {
  while (!name.empty() && name.back() == '.') {
    name.remove_suffix(1);
  }
  return name;
}

// RFC 8460 §3: a reporting URI, mailto: (with an address) or https: (with a host).
std::optional<std::string> BadReportUri(std::string_view uri) {
  const bool printable = std::all_of(uri.begin(), uri.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f;
  });
  if (uri.empty() || !printable) {
    return "the URI " + Shown(uri) + " is empty or holds spaces or control characters";
  }
  std::string scheme;
  const std::size_t colon = uri.find(':');
  if (colon != std::string_view::npos) {
    for (char c : uri.substr(0, colon)) {
      scheme += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  if (scheme == "mailto") {
    const std::string_view address = uri.substr(colon + 1);
    const std::size_t at = address.find('@');
    if (at == 0 || at == std::string_view::npos || at + 1 >= address.size()) {
      return "the URI " + Shown(uri) + " names no mail address";
    }
    return std::nullopt;
  }
  if (scheme == "https") {
    std::string_view rest = uri.substr(colon + 1);
    if (!rest.starts_with("//") || rest.size() <= 2 || rest[2] == '/') {
      return "the URI " + Shown(uri) + " names no host";
    }
    return std::nullopt;
  }
  return "the URI " + Shown(uri) + " is neither mailto: nor https: (RFC 8460 §3)";
}

}  // namespace

std::vector<std::string_view> RecordsWithVersion(const std::vector<std::string>& records,
                                                 std::string_view version) {
  std::vector<std::string_view> found;
  for (const std::string& record : records) {
    std::string_view text(record);
    if (!text.starts_with(version)) {
      continue;
    }
    text.remove_prefix(version.size());
    if (text.empty() || text.front() == ';' || IsWsp(text.front())) {
      found.push_back(record);
    }
  }
  return found;
}

std::string_view MtaStsModeName(MtaStsMode mode) {
  switch (mode) {
    case MtaStsMode::kEnforce:
      return "enforce";
    case MtaStsMode::kTesting:
      return "testing";
    case MtaStsMode::kNone:
      return "none";
  }
  return "none";
}

std::optional<MtaStsMode> ParseMtaStsMode(std::string_view name) {
  for (MtaStsMode mode : {MtaStsMode::kEnforce, MtaStsMode::kTesting, MtaStsMode::kNone}) {
    if (MtaStsModeName(mode) == name) {
      return mode;
    }
  }
  return std::nullopt;
}

std::string_view PolicyFetchStatusName(PolicyFetchStatus status) {
  switch (status) {
    case PolicyFetchStatus::kNotAttempted:
      return "not_attempted";
    case PolicyFetchStatus::kOk:
      return "ok";
    case PolicyFetchStatus::kResolveFailed:
      return "resolve_failed";
    case PolicyFetchStatus::kConnectFailed:
      return "connect_failed";
    case PolicyFetchStatus::kTlsFailed:
      return "tls_failed";
    case PolicyFetchStatus::kHttpStatus:
      return "http_status";
    case PolicyFetchStatus::kMediaType:
      return "media_type";
    case PolicyFetchStatus::kTooLarge:
      return "too_large";
    case PolicyFetchStatus::kTimeout:
      return "timeout";
    case PolicyFetchStatus::kError:
      return "error";
    case PolicyFetchStatus::kInvalid:
      return "invalid";
  }
  return "error";
}

std::optional<PolicyFetchStatus> ParsePolicyFetchStatus(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(PolicyFetchStatus::kInvalid); ++i) {
    const auto status = static_cast<PolicyFetchStatus>(i);
    if (PolicyFetchStatusName(status) == name) {
      return status;
    }
  }
  return std::nullopt;
}

Result<std::string> ParseMtaStsRecord(std::string_view record) {
  const std::optional<std::vector<std::string_view>> fields = SplitFields(record);
  if (!fields || fields->empty()) {
    return Error::InvalidArgument("the record has an empty field: " + Shown(record));
  }
  // RFC 8461 §3.1: the record begins with the version, nothing before it.
  if ((*fields)[0] != "v=STSv1" || !record.starts_with("v=STSv1")) {
    return Error::InvalidArgument("the record does not start with v=STSv1: " + Shown(record));
  }
  std::optional<std::string> id;
  for (std::size_t i = 1; i < fields->size(); ++i) {
    std::string_view name;
    std::string_view value;
    if (!SplitKeyValue((*fields)[i], &name, &value)) {
      return Error::InvalidArgument("the field " + Shown((*fields)[i]) + " is not key=value");
    }
    if (name == "id") {
      if (id) {
        return Error::InvalidArgument("the record has more than one id=");
      }
      if (value.empty() || value.size() > 32 || !std::all_of(value.begin(), value.end(), IsAlnum)) {
        return Error::InvalidArgument("the id " + Shown(value) +
                                      " is not 1 to 32 letters and digits (RFC 8461 §3.1)");
      }
      id = std::string(value);
    } else if (!IsExtensionName(name) || !IsExtensionValue(value)) {
      return Error::InvalidArgument("the field " + Shown((*fields)[i]) + " is malformed");
    }
  }
  if (!id) {
    return Error::InvalidArgument("the record has no id= (RFC 8461 §3.1)");
  }
  return *id;
}

Result<std::string> SelectMtaStsRecord(const std::vector<std::string>& records) {
  const std::vector<std::string_view> found = RecordsWithVersion(records, "v=STSv1");
  if (found.empty()) {
    return Error::InvalidArgument("no TXT record starts with v=STSv1");
  }
  if (found.size() > 1) {
    return Error::InvalidArgument(std::to_string(found.size()) +
                                  " TXT records start with v=STSv1; RFC 8461 §3.1 requires "
                                  "exactly one, so senders ignore them all");
  }
  return ParseMtaStsRecord(found[0]);
}

Result<MtaStsPolicy> ParseMtaStsPolicy(std::string_view body) {
  if (body.size() > kMaxPolicyBytes) {
    return Error::InvalidArgument("the policy is larger than 64 KiB");
  }
  MtaStsPolicy policy;
  std::optional<std::string_view> version;
  std::optional<MtaStsMode> mode;
  std::optional<std::int64_t> max_age;
  std::size_t line_number = 0;
  std::size_t start = 0;
  while (start < body.size()) {
    std::size_t end = body.find('\n', start);
    if (end == std::string_view::npos) {
      end = body.size();
    }
    std::string_view line = body.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (line.ends_with('\r')) {
      line.remove_suffix(1);
    }
    line = TrimWsp(line);
    if (line.empty()) {
      continue;  // blank lines (a trailing one is common) carry nothing
    }
    const std::string where = "line " + std::to_string(line_number) + ": ";
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return Error::InvalidArgument(where + Shown(line) + " is not \"key: value\"");
    }
    const std::string_view key = line.substr(0, colon);
    const std::string_view value = TrimWsp(line.substr(colon + 1));
    if (key == "version") {
      if (version) {
        return Error::InvalidArgument(where + "a second version");
      }
      if (value != "STSv1") {
        return Error::InvalidArgument(where + "version is " + Shown(value) + ", not STSv1");
      }
      version = value;
    } else if (key == "mode") {
      if (mode) {
        return Error::InvalidArgument(where + "a second mode");
      }
      mode = ParseMtaStsMode(value);
      if (!mode) {
        return Error::InvalidArgument(where + "mode is " + Shown(value) +
                                      ", not enforce, testing or none");
      }
    } else if (key == "max_age") {
      if (max_age) {
        return Error::InvalidArgument(where + "a second max_age");
      }
      std::int64_t seconds = -1;
      const bool digits =
          !value.empty() && value.size() <= 10 &&
          std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (digits) {
        std::from_chars(value.data(), value.data() + value.size(), seconds);
      }
      if (!digits || seconds < 0 || seconds > kMaxPolicyMaxAge) {
        return Error::InvalidArgument(where + "max_age " + Shown(value) +
                                      " is not a number of seconds from 0 to 31557600");
      }
      max_age = seconds;
    } else if (key == "mx") {
      const std::string_view domain = value.starts_with("*.") ? value.substr(2) : value;
      if (!IsDomain(domain)) {
        return Error::InvalidArgument(where + "the mx pattern " + Shown(value) +
                                      " is not a host name or *.domain");
      }
      if (policy.mx.size() >= kMaxPolicyMxPatterns) {
        return Error::InvalidArgument(where + "more than 64 mx patterns");
      }
      policy.mx.emplace_back(value);
    } else if (!IsExtensionName(key)) {
      return Error::InvalidArgument(where + "the key " + Shown(key) + " is malformed");
    }
    // Any other well-formed key is an extension: RFC 8461 §3.2 says to ignore it.
  }
  if (!version) {
    return Error::InvalidArgument("the policy has no \"version: STSv1\" line");
  }
  if (!mode) {
    return Error::InvalidArgument("the policy has no mode");
  }
  if (!max_age) {
    return Error::InvalidArgument("the policy has no max_age");
  }
  if (policy.mx.empty() && *mode != MtaStsMode::kNone) {
    return Error::InvalidArgument("the policy's mode is " + std::string(MtaStsModeName(*mode)) +
                                  " but it lists no mx pattern");
  }
  policy.mode = *mode;
  policy.max_age_seconds = *max_age;
  return policy;
}

bool MxPatternMatches(std::string_view pattern, std::string_view host) {
  pattern = WithoutTrailingDot(pattern);
  host = WithoutTrailingDot(host);
  if (pattern.empty() || host.empty()) {
    return false;
  }
  if (pattern.starts_with("*.")) {
    const std::string_view suffix = pattern.substr(1);  // ".example.com"
    if (host.size() <= suffix.size()) {
      return false;
    }
    const std::string_view label = host.substr(0, host.size() - suffix.size());
    return label.find('.') == std::string_view::npos &&
           EqualsIgnoringCase(host.substr(label.size()), suffix);
  }
  return EqualsIgnoringCase(pattern, host);
}

Result<std::vector<std::string>> ParseTlsRptRecord(std::string_view record) {
  const std::optional<std::vector<std::string_view>> fields = SplitFields(record);
  if (!fields || fields->empty()) {
    return Error::InvalidArgument("the record has an empty field: " + Shown(record));
  }
  // RFC 8460 §3: the record begins with the version, nothing before it.
  if ((*fields)[0] != "v=TLSRPTv1" || !record.starts_with("v=TLSRPTv1")) {
    return Error::InvalidArgument("the record does not start with v=TLSRPTv1: " + Shown(record));
  }
  std::optional<std::vector<std::string>> rua;
  for (std::size_t i = 1; i < fields->size(); ++i) {
    std::string_view name;
    std::string_view value;
    if (!SplitKeyValue((*fields)[i], &name, &value)) {
      return Error::InvalidArgument("the field " + Shown((*fields)[i]) + " is not key=value");
    }
    if (name == "rua") {
      if (rua) {
        return Error::InvalidArgument("the record has more than one rua=");
      }
      rua.emplace();
      std::size_t start = 0;
      while (start <= value.size()) {
        const std::size_t end = std::min(value.find(',', start), value.size());
        const std::string_view uri = TrimWsp(value.substr(start, end - start));
        start = end + 1;
        if (std::optional<std::string> bad = BadReportUri(uri)) {
          return Error::InvalidArgument(*bad);
        }
        if (rua->size() >= 16) {
          return Error::InvalidArgument("rua= lists more than 16 URIs");
        }
        rua->emplace_back(uri);
      }
    } else if (!IsExtensionName(name) || !IsExtensionValue(value)) {
      return Error::InvalidArgument("the field " + Shown((*fields)[i]) + " is malformed");
    }
  }
  if (!rua) {
    return Error::InvalidArgument("the record has no rua= (RFC 8460 §3)");
  }
  return *rua;
}

Result<std::vector<std::string>> SelectTlsRptRecord(const std::vector<std::string>& records) {
  const std::vector<std::string_view> found = RecordsWithVersion(records, "v=TLSRPTv1");
  if (found.empty()) {
    return Error::InvalidArgument("no TXT record starts with v=TLSRPTv1");
  }
  if (found.size() > 1) {
    return Error::InvalidArgument(std::to_string(found.size()) +
                                  " TXT records start with v=TLSRPTv1; RFC 8460 §3 requires "
                                  "exactly one");
  }
  return ParseTlsRptRecord(found[0]);
}

}  // namespace smtp_exporter
