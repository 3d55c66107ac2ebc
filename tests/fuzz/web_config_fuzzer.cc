// Fuzz target: the web config (--web.config.file, exporter/http/web_config.h), read from a file
// the operator writes, and the Authorization header every request may carry when basic auth is
// on (BasicAuth::Allows, network input).
//
// Input: the first byte chooses: even, YAML text for ParseWebConfig; odd, an Authorization
// header value checked against one user (cost-4 bcrypt, so each check stays fast).
// Invariants: a rejected config has a one-line error; an accepted one has TLS files named, a
// client CA only with a client-certificate policy, min_version <= max_version (when set),
// response headers without CR, LF or NUL, and bcrypt hashes of 60 characters for named users
// without ':'. A header is allowed only when it carries the right credentials.
#include <cstddef>
#include <cstdint>
#include <string>

#include "exporter/http/web_config.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

// bcrypt of "right" at cost 4, made once with libxcrypt (any valid hash would do).
constexpr const char* kHash = "$2b$04$.11543Lam7lta4.qJAwlK.16W5ncZ1jMOJCIWlHDl6lSTzaTqe2Fa";
// "Basic " + base64("prometheus:right").
constexpr const char* kRightHeader = "Basic cHJvbWV0aGV1czpyaWdodA==";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace smtp_exporter;
  using namespace smtp_exporter::fuzz;
  if (size == 0) {
    return 0;
  }
  const std::string text(AsText(data + 1, size - 1));
  if ((data[0] & 1) == 0) {
    const auto config = ParseWebConfig(text, "/etc/smtp_exporter");
    if (!config.ok()) {
      FUZZ_CHECK(config.error().message.find('\n') == std::string::npos);
      return 0;
    }
    if (config.value().tls) {
      const TlsServerSettings& tls = *config.value().tls;
      FUZZ_CHECK(!tls.cert_file.empty() && !tls.key_file.empty());
      FUZZ_CHECK(tls.client_ca_file.empty() || tls.client_auth_type != "NoClientCert");
      FUZZ_CHECK(tls.max_version == 0 || tls.min_version <= tls.max_version);
    }
    for (const auto& [name, value] : config.value().headers) {
      FUZZ_CHECK(value.find_first_of(std::string("\r\n\0", 3)) == std::string::npos);
      FUZZ_CHECK(!name.empty());
    }
    for (const auto& [user, hash] : config.value().basic_auth_users) {
      FUZZ_CHECK(!user.empty() && user.find(':') == std::string::npos);
      FUZZ_CHECK(hash.size() == 60);
    }
    return 0;
  }
  static const BasicAuth auth({{"prometheus", kHash}});
  if (auth.Allows(text)) {
    // The scheme in any case, then base64 of "prometheus:right": the right header's length
    // (base64 may differ in the unused low bits of its last character, RFC 4648 §3.5).
    FUZZ_CHECK(text.size() == std::string(kRightHeader).size());
    FUZZ_CHECK(text.compare(text.size() - 2, 2, "==") == 0);
  }
  return 0;
}
