// Fuzz target: a whole SMTP session with a hostile server (ProbeEndpoint, probes/smtp_probe.h:
// the client, the reply parser, STARTTLS, the transaction probes), over a scripted transport
// that plays the fuzzer's bytes as everything the server says. No socket, no TLS: StartTls
// "succeeds" or fails as the input says and the session goes on in the clear.
//
// Input: byte 0 sets the scene (bit 0: the STARTTLS handshake succeeds, or on 465 the implicit
// one; bits 1-4: how many bytes each read returns, 1-16; bits 5-6: the service, 0 the MX
// probe, 1 the MX probe as one session shared by three domains (ProbeSharedEndpoint), 2
// submission on 587, 3 submission over implicit TLS on 465); the rest is the server's side of
// the session.
// Invariants: every command sent is one line of printable ASCII ending in CRLF, so nothing a
// server says can inject a command; nothing is sent after Close; the client reads no more
// than its session bound; a submission session sends no MAIL, RCPT, DATA, BDAT or AUTH; the
// observation, written as JSON, reads back and writes the same
// JSON again; its terminal text is safe for a terminal; a shared session gives each domain its
// own result, whose transcript sends no other domain's postmaster.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "probes/observation_json.h"
#include "probes/smtp_probe.h"
#include "probes/transport.h"
#include "exporter/report/text_report.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/terminal_safe.h"

namespace smtp_exporter::fuzz {
namespace {

// Small bounds so that fuzzed sessions (a few KiB) reach them.
constexpr SmtpLimits kLimits{/*max_line_bytes=*/512, /*max_reply_lines=*/32,
                             /*max_session_bytes=*/4096};

// Deterministic time that still moves: each reading is 1 ms later, so every deadline passes
// eventually and a wait that polls the clock cannot spin forever.
class SteppingClock final : public Clock {
 public:
  SteadyTime Now() const override { return SteadyTime(std::chrono::milliseconds(++ticks_)); }
  WallTime WallNow() const override {
    return WallTime(std::chrono::seconds(1764500000) + std::chrono::milliseconds(ticks_));
  }

 private:
  mutable std::int64_t ticks_ = 0;
};

// What the server side of every connection shares: the script and what was sent.
struct Script {
  std::string_view server;  // bytes still to be read
  std::size_t chunk = 1;
  bool tls_ok = false;
  bool submission = false;  // a submission session (RFC 8314): no transaction, no AUTH
  std::size_t bytes_read = 0;
};

class ScriptedTransport final : public Transport {
 public:
  explicit ScriptedTransport(Script* script) : script_(script) {}

  Result<std::string> Read(std::size_t max_bytes, Deadline /*deadline*/) override {
    FUZZ_CHECK(!closed_);
    if (script_->server.empty()) {
      return Error{ErrorCode::kConnectionClosed, "script: end of the server's bytes"};
    }
    const std::size_t n = std::min({max_bytes, script_->chunk, script_->server.size()});
    FUZZ_CHECK(n > 0);
    std::string out(script_->server.substr(0, n));
    script_->server.remove_prefix(n);
    script_->bytes_read += n;
    return out;
  }

  Status Write(std::string_view data, Deadline /*deadline*/) override {
    FUZZ_CHECK(!closed_);
    // One command line, or an RFC 2920 group of them: each printable ASCII, then CRLF, and
    // nothing else. In a group only MAIL, RCPT and RSET may come before the last command, and
    // the last is QUIT (RFC 2920 §3.1); DATA never goes out.
    FUZZ_CHECK(data.size() >= 2 && data.ends_with("\r\n"));
    std::vector<std::string_view> lines;
    for (std::string_view rest = data; !rest.empty();) {
      const std::size_t end = rest.find("\r\n");
      FUZZ_CHECK(end != std::string_view::npos && end > 0);
      lines.push_back(rest.substr(0, end));
      rest.remove_prefix(end + 2);
    }
    for (std::size_t i = 0; i < lines.size(); ++i) {
      for (const char c : lines[i]) {
        FUZZ_CHECK(c >= 0x20 && c <= 0x7e);
      }
      FUZZ_CHECK(lines[i] != "DATA");
      if (script_->submission) {
        for (std::string_view verb : {"MAIL", "RCPT", "DATA", "BDAT", "AUTH"}) {
          FUZZ_CHECK(!lines[i].starts_with(verb));
        }
      }
      if (lines.size() > 1) {
        FUZZ_CHECK(i + 1 == lines.size()
                       ? lines[i] == "QUIT"
                       : lines[i].starts_with("MAIL FROM:") || lines[i].starts_with("RCPT TO:") ||
                             lines[i] == "RSET");
      }
    }
    return Status::Ok();
  }

  Result<TlsDetails> StartTls(const std::string& server_name, Deadline /*deadline*/) override {
    FUZZ_CHECK(!closed_);
    FUZZ_CHECK(!tls_);
    if (!script_->tls_ok) {
      return Error{ErrorCode::kTls, "script: handshake failure"};
    }
    tls_ = true;
    TlsDetails details;
    details.version = "TLSv1.3";
    details.cipher = "TLS_AES_128_GCM_SHA256";
    details.peer_subject = "CN=" + server_name;
    details.peer_dns_names = {server_name};
    details.peer_not_after_unix = 1798761600;
    return details;
  }

  void Close(Deadline /*deadline*/) override { closed_ = true; }

 private:
  Script* script_;
  bool closed_ = false;
  bool tls_ = false;
};

class ScriptedFactory final : public TransportFactory {
 public:
  explicit ScriptedFactory(Script* script) : script_(script) {}
  Result<std::unique_ptr<Transport>> Connect(const IpAddress& /*ip*/, std::uint16_t /*port*/,
                                             Deadline /*deadline*/) override {
    return std::unique_ptr<Transport>(std::make_unique<ScriptedTransport>(script_));
  }

 private:
  Script* script_;
};

}  // namespace
}  // namespace smtp_exporter::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace smtp_exporter;
  using namespace smtp_exporter::fuzz;
  if (size == 0) {
    return 0;
  }
  Script script;
  script.tls_ok = (data[0] & 1) != 0;
  script.chunk = static_cast<std::size_t>((data[0] >> 1) & 0x0f) + 1;
  const int service = (data[0] >> 5) & 0x03;
  script.submission = service >= 2;
  script.server = AsText(data + 1, size - 1);

  ScriptedFactory factory(&script);
  const SteppingClock clock;
  EndpointTarget target;
  target.domain = "example.org";
  target.mx_name = "mx1.example.org";
  target.ip = *IpAddress::Parse("192.0.2.25");
  if (service == 2) {
    target.port = 587;
    target.service = EndpointService::kSubmission;
  } else if (service == 3) {
    target.port = 465;
    target.service = EndpointService::kSubmissions;
  }
  CheckOptions options;
  options.helo_name = "probe.example.net";
  EndpointObservation endpoint;
  if (service == 1) {
    // A shared MX session for three domains: each result is its own domain's, and no client
    // line of one domain's transcript names another domain's postmaster.
    const std::vector<std::string> domains = {"example.org", "a.example.org", "b.example.org"};
    const SessionJoin join = [&domains] {
      return std::vector<std::string>(domains.begin() + 1, domains.end());
    };
    std::vector<SharedEndpointResult> shared =
        ProbeSharedEndpoint(factory, clock, target, options, join, kLimits);
    FUZZ_CHECK(shared.size() == domains.size());
    for (std::size_t i = 0; i < shared.size(); ++i) {
      FUZZ_CHECK(shared[i].observation.domain == domains[i]);
      FUZZ_CHECK(shared[i].observation.session_domains == domains.size());
      for (const TranscriptEntry& entry : shared[i].observation.transcript) {
        for (std::size_t j = 0; j < domains.size(); ++j) {
          FUZZ_CHECK(j == i || entry.direction != TranscriptEntry::Direction::kClient ||
                     entry.text.find("<postmaster@" + domains[j] + ">") == std::string::npos);
        }
      }
    }
    endpoint = std::move(shared[0].observation);
  } else {
    endpoint = ProbeEndpoint(factory, clock, target, options, kLimits);
  }
  FUZZ_CHECK(script.bytes_read <= kLimits.max_session_bytes);

  // The observation of any session, however hostile, is written and read back unchanged.
  DomainObservation observation;
  observation.domain = "example.org";
  observation.dns.domain = "example.org";
  (script.submission ? observation.submission : observation.endpoints).push_back(endpoint);
  const std::string written = DumpJson(ToJson(observation));
  const nlohmann::json reparsed = nlohmann::json::parse(written, nullptr, false);
  FUZZ_CHECK(!reparsed.is_discarded());
  const Result<DomainObservation> read = DomainObservationFromJson(reparsed);
  FUZZ_CHECK(read.ok());
  FUZZ_CHECK(ToJson(read.value()) == reparsed);

  FUZZ_CHECK(TerminalSafe(RenderEndpointText(endpoint)));
  return 0;
}
