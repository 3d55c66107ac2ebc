#include "config/check_option_table.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <sstream>

#include "config/domain_name.h"
#include "config/duration.h"

namespace smtp_exporter {
namespace {

using std::chrono::milliseconds;

// The per-endpoint probe budget: RFC 5321 §4.5.3.2 gives servers minutes per reply, but a
// check must end within a scrape; 5 minutes bounds a scheduled check, not a scrape.
constexpr milliseconds kMinTimeout = std::chrono::seconds(1);
constexpr milliseconds kMaxTimeout = std::chrono::minutes(5);

constexpr std::string_view kDurationForms = "such as 30s, 5m, 1h30m, 250ms or integer seconds";

constexpr std::array<CheckOptionSpec, 16> kSpecs = {{
    {"timeout", "timeout", CheckOptionType::kDuration, &CheckOptions::timeout, "12s",
     "Budget for each endpoint probe: connect, EHLO, STARTTLS and the transaction probes "
     "together, not counting the wait for the greeting (1s to 5m).",
     true, true, "Per-endpoint timeout (seconds)"},
    {"greeting_timeout", "greeting-timeout", CheckOptionType::kDuration,
     &CheckOptions::greeting_timeout, "30s",
     "How long to wait for the 220 greeting after connecting (1s to 5m). Tarpits and "
     "pre-greeting pauses (postscreen) are deliberate; senders wait up to 5 minutes "
     "(RFC 5321 §4.5.3.2.1). No greeting in time is the WARN smtp.banner.delayed.",
     true, false, "Greeting wait (seconds)"},
    {"helo_name", "helo-name", CheckOptionType::kHostName, &CheckOptions::helo_name,
     "this machine's host name",
     "Name sent in EHLO/HELO. Use a name with valid A/AAAA and PTR records: strict receivers "
     "greylist or reject probes from names that do not resolve back.",
     true, true, "EHLO hostname"},
    {"test_null_sender", "test-null-sender", CheckOptionType::kBool,
     &CheckOptions::test_null_sender, "true",
     "Probe `MAIL FROM:<>`: bounces must be accepted (RFC 5321 §4.5.5).", true, true,
     "Probe null sender"},
    {"test_postmaster", "test-postmaster", CheckOptionType::kBool, &CheckOptions::test_postmaster,
     "true", "Probe `RCPT TO:<postmaster@DOMAIN>`: postmaster must be accepted (RFC 5321 §4.5.1).",
     true, true, "Probe postmaster"},
    {"test_open_relay", "test-open-relay", CheckOptionType::kBool, &CheckOptions::test_open_relay,
     "true",
     "Probe relaying to `test_probe_address` (RFC 5321 §3.6). The probe stops at RCPT: DATA is "
     "never sent.",
     true, true, "Probe open-relay posture"},
    {"test_probe_address", "test-probe-address", CheckOptionType::kMailAddress,
     &CheckOptions::test_probe_address, "postmaster@example.com",
     "Recipient of the open-relay probe; replaced by one at example.com (or example.net) when "
     "it lies inside the checked domain.",
     true, true, "Open-relay probe recipient"},
    {"pipelining", "pipelining", CheckOptionType::kBool, &CheckOptions::pipelining, "true",
     "Send the transaction probes (null sender, postmaster, open relay, QUIT) as one group when "
     "the server advertises PIPELINING (RFC 2920): one round trip instead of about seven. "
     "`false` sends them one at a time; the verdicts are the same.",
     true, false, "Pipeline the transaction probes"},
    {"test_dane", "test-dane", CheckOptionType::kBool, &CheckOptions::test_dane, "false",
     "Look up each MX host's TLSA records at `_PORT._tcp.HOST` (DANE, RFC 7672) and whether "
     "the resolver validated them (its AD bit). Off by default: the AD bit is only meaningful "
     "from a validating resolver you trust on a secure path (RFC 6698 §4.1), so point "
     "`dns_servers` at one (e.g. a local Unbound) before turning it on.",
     true, false, "Check DANE (TLSA) records"},
    {"port", "port", CheckOptionType::kPort, &CheckOptions::port, "25",
     "TCP port of the SMTP service; other values are for labs and relays. Not a /probe "
     "parameter.",
     false, false, "SMTP port"},
    {"test_mta_sts", "test-mta-sts", CheckOptionType::kBool, &CheckOptions::test_mta_sts, "true",
     "Look up the `_mta-sts` TXT record and fetch the MTA-STS policy it announces over HTTPS, "
     "verifying the certificate (RFC 8461). `false` sends no query and no request; so does "
     "disabling the rule smtp.mta_sts.",
     true, false, "Check MTA-STS"},
    {"test_tls_rpt", "test-tls-rpt", CheckOptionType::kBool, &CheckOptions::test_tls_rpt, "true",
     "Look up and check the `_smtp._tls` TLS-RPT record (RFC 8460). `false` sends no query; so "
     "does disabling the rule smtp.tls_rpt.",
     true, false, "Check TLS-RPT"},
    {"mta_sts_port", "mta-sts-port", CheckOptionType::kPort, &CheckOptions::mta_sts_port, "443",
     "TCP port of the MTA-STS policy host (RFC 8461 §3.3 says 443); other values are for labs. "
     "Not a /probe parameter.",
     false, false, "MTA-STS policy port"},
    {"mta_sts_ca_file", "mta-sts-ca-file", CheckOptionType::kFilePath,
     &CheckOptions::mta_sts_ca_file, "the system CA bundle",
     "PEM file of the certificate authorities trusted for the MTA-STS policy host (labs, "
     "private CAs). Not a /probe parameter.",
     false, false, "MTA-STS trust anchors"},
    {"submission", "submission", CheckOptionType::kSubmissionPorts, &CheckOptions::submission,
     "none",
     "Message submission ports to check too (RFC 8314): `587` (STARTTLS, then AUTH only over "
     "TLS) and/or `465` (implicit TLS), as a YAML list or `587,465`; empty: off. The sessions "
     "read the greeting and the EHLO replies and quit: MAIL, RCPT, DATA and AUTH are never sent.",
     true, false, "Submission ports (587, 465)"},
    {"submission_host", "submission-host", CheckOptionType::kHostName,
     &CheckOptions::submission_host, "the MX hosts",
     "Host whose submission ports are checked, resolved through the check's resolver; by "
     "default the MX hosts' addresses.",
     true, false, "Submission host"},
}};

// The member pointer's alternative must match the option's type: SetCheckOption relies on it.
constexpr bool FieldMatchesType(const CheckOptionSpec& spec) {
  switch (spec.type) {
    case CheckOptionType::kDuration:
      return std::holds_alternative<milliseconds CheckOptions::*>(spec.field);
    case CheckOptionType::kBool:
      return std::holds_alternative<bool CheckOptions::*>(spec.field);
    case CheckOptionType::kHostName:
    case CheckOptionType::kMailAddress:
    case CheckOptionType::kFilePath:
      return std::holds_alternative<std::string CheckOptions::*>(spec.field);
    case CheckOptionType::kPort:
      return std::holds_alternative<std::uint16_t CheckOptions::*>(spec.field);
    case CheckOptionType::kSubmissionPorts:
      return std::holds_alternative<std::vector<std::uint16_t> CheckOptions::*>(spec.field);
  }
  return false;
}
static_assert(std::all_of(kSpecs.begin(), kSpecs.end(), FieldMatchesType),
              "an option's field does not match its type");

// `text` is `word` in lower, upper or title case ("true", "TRUE", "True"), as YAML 1.1 and
// yaml-cpp spell booleans; mixed case ("tRue") is not a spelling anyone means.
bool SpelledAs(std::string_view text, std::string_view word) {
  if (text.size() != word.size() || text.empty()) {
    return false;
  }
  std::string upper(word);
  std::transform(upper.begin(), upper.end(), upper.begin(), [](char c) {
    return static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  });
  std::string title(word);
  title[0] = upper[0];
  return text == word || text == upper || text == title;
}

std::string_view TypeName(CheckOptionType type) {
  switch (type) {
    case CheckOptionType::kDuration:
      return "duration";
    case CheckOptionType::kBool:
      return "bool";
    case CheckOptionType::kHostName:
      return "host name";
    case CheckOptionType::kMailAddress:
      return "mail address";
    case CheckOptionType::kPort:
      return "port";
    case CheckOptionType::kFilePath:
      return "file path";
    case CheckOptionType::kSubmissionPorts:
      return "port list";
  }
  return "string";
}

// The submission ports RFC 8314 names: 587 (RFC 6409, STARTTLS) and 465 (implicit TLS, §3.3).
// Other ports are refused: a /probe parameter must not point the exporter at any service.
constexpr std::array<std::uint16_t, 2> kSubmissionPorts = {587, 465};

// "587, 465" -> {587, 465}; "" -> {}. Each port once; only 587 and 465.
Result<std::vector<std::uint16_t>> ParsePortList(std::string_view text) {
  std::vector<std::uint16_t> ports;
  constexpr std::string_view kExpected = "must be a list of 587 and/or 465 (e.g. 587,465), got ";
  if (text.size() > 64) {
    return Error::InvalidArgument(std::string(kExpected) + "a value of " +
                                  std::to_string(text.size()) + " bytes");
  }
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) {
      comma = text.size();
    }
    std::string_view item = text.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') {
      item.remove_prefix(1);
    }
    while (!item.empty() && item.back() == ' ') {
      item.remove_suffix(1);
    }
    const bool last = comma == text.size();
    if (item.empty()) {
      if (last && ports.empty() && start == 0) {
        break;  // "" (or blanks): no ports, the check is off
      }
      return Error::InvalidArgument(std::string(kExpected) + Quote(text));
    }
    const auto known =
        std::find_if(kSubmissionPorts.begin(), kSubmissionPorts.end(),
                     [item](std::uint16_t port) { return item == std::to_string(port); });
    if (known == kSubmissionPorts.end()) {
      return Error::InvalidArgument(std::string(kExpected) + Quote(text));
    }
    if (std::find(ports.begin(), ports.end(), *known) != ports.end()) {
      return Error::InvalidArgument("lists port " + std::to_string(*known) + " twice, got " +
                                    Quote(text));
    }
    ports.push_back(*known);
    if (last) {
      break;
    }
    start = comma + 1;
  }
  return ports;
}

}  // namespace

std::string PortListText(const std::vector<std::uint16_t>& ports) {
  std::string text;
  for (std::uint16_t port : ports) {
    text += (text.empty() ? "" : ",") + std::to_string(port);
  }
  return text;
}

std::span<const CheckOptionSpec> CheckOptionSpecs() { return kSpecs; }

const CheckOptionSpec* FindCheckOption(std::string_view name, bool by_flag) {
  for (const auto& spec : kSpecs) {
    if ((by_flag ? spec.flag : spec.key) == name) {
      return &spec;
    }
  }
  return nullptr;
}

std::optional<bool> ParseBoolText(std::string_view text) {
  for (std::string_view yes : {"true", "yes", "on", "y"}) {
    if (SpelledAs(text, yes)) {
      return true;
    }
  }
  for (std::string_view no : {"false", "no", "off", "n"}) {
    if (SpelledAs(text, no)) {
      return false;
    }
  }
  return std::nullopt;
}

Status SetCheckOption(const CheckOptionSpec& spec, std::string_view text, CheckOptions& options) {
  switch (spec.type) {
    case CheckOptionType::kDuration: {
      const std::optional<milliseconds> parsed = ParseDuration(text);
      if (!parsed) {
        return Error::InvalidArgument("must be a duration " + std::string(kDurationForms) +
                                      ", got " + Quote(text));
      }
      if (*parsed < kMinTimeout || *parsed > kMaxTimeout) {
        return Error::InvalidArgument("must be between " + FormatDuration(kMinTimeout) + " and " +
                                      FormatDuration(kMaxTimeout) + ", got " +
                                      FormatDuration(*parsed));
      }
      options.*std::get<milliseconds CheckOptions::*>(spec.field) = *parsed;
      return Status::Ok();
    }
    case CheckOptionType::kBool: {
      const std::optional<bool> parsed = ParseBoolText(text);
      if (!parsed) {
        return Error::InvalidArgument("must be true or false, got " + Quote(text));
      }
      options.*std::get<bool CheckOptions::*>(spec.field) = *parsed;
      return Status::Ok();
    }
    case CheckOptionType::kHostName:
      if (Status valid = ValidateHostName(text); !valid.ok()) {
        return Error::InvalidArgument(Quote(text) +
                                      " is not a valid host name: " + valid.message());
      }
      options.*std::get<std::string CheckOptions::*>(spec.field) = NormaliseHostName(text);
      return Status::Ok();
    case CheckOptionType::kMailAddress:
      if (Status valid = ValidateProbeAddress(text); !valid.ok()) {
        return Error::InvalidArgument(Quote(text) + " is invalid: " + valid.message());
      }
      options.*std::get<std::string CheckOptions::*>(spec.field) = std::string(text);
      return Status::Ok();
    case CheckOptionType::kPort: {
      int port = 0;
      const bool digits =
          !text.empty() && text.size() <= 5 &&
          std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (digits) {
        std::from_chars(text.data(), text.data() + text.size(), port);
      }
      if (!digits) {
        return Error::InvalidArgument("must be an integer from 1 to 65535, got " + Quote(text));
      }
      if (port < 1 || port > 65535) {
        return Error::InvalidArgument("must be an integer from 1 to 65535, got " +
                                      std::to_string(port));
      }
      options.*std::get<std::uint16_t CheckOptions::*>(spec.field) =
          static_cast<std::uint16_t>(port);
      return Status::Ok();
    }
    case CheckOptionType::kFilePath: {
      const bool clean = std::none_of(text.begin(), text.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == '\x7f';
      });
      if (text.empty() || text.size() > 4096 || !clean) {
        return Error::InvalidArgument(
            "must be a file name (1 to 4096 bytes, no control characters), got " + Quote(text));
      }
      options.*std::get<std::string CheckOptions::*>(spec.field) = std::string(text);
      return Status::Ok();
    }
    case CheckOptionType::kSubmissionPorts: {
      Result<std::vector<std::uint16_t>> ports = ParsePortList(text);
      if (!ports.ok()) {
        return ports.error();
      }
      options.*std::get<std::vector<std::uint16_t> CheckOptions::*>(spec.field) =
          std::move(ports).value();
      return Status::Ok();
    }
  }
  return Error::Internal("option " + std::string(spec.key) + " has an unknown type");
}

std::string RenderOptionsMarkdown() {
  std::ostringstream out;
  out << "<!-- Generated from the option table (config/check_option_table.cc) by\n"
         "     RenderOptionsMarkdown(). Do not edit: change the table, then run\n"
         "     SMTP_EXPORTER_REGENERATE_DOCS=1 unit_tests --gtest_filter='*OptionsMarkdown*' -->\n"
         "# Check options\n\n"
         "The options of one domain check. The same table drives the YAML config (under "
         "`global:` and per domain), the `check` command's flags and the `/probe` query "
         "parameters, so all three accept the same spellings and ranges. Durations: "
      << kDurationForms
      << ". Booleans: `true`/`false` (also `yes`/`no`, `on`/`off`, `y`/`n`; lower, upper or title "
         "case).\n\n"
         "| YAML key | `check` flag | `/probe` parameter | type | default | meaning |\n"
         "|---|---|---|---|---|---|\n";
  for (const auto& spec : kSpecs) {
    out << "| `" << spec.key << "` | `--" << spec.flag << "` | "
        << (spec.probe_parameter ? "`" + std::string(spec.key) + "`" : std::string("no")) << " | "
        << TypeName(spec.type) << " | " << spec.default_text << " | " << spec.doc << " |\n";
  }
  std::string ours;
  for (const auto& spec : kSpecs) {
    if (!spec.seed_option) {
      ours += (ours.empty() ? "`" : ", `") + std::string(spec.key) + "`";
    }
  }
  out << "\nThe options other than " << ours
      << " are the run options of happyDomain's checker-smtp, with the same names.\n";
  return out.str();
}

}  // namespace smtp_exporter
