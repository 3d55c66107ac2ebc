// The web configuration file (--web.config.file) in the format of Prometheus' exporter-toolkit,
// which Prometheus, node_exporter and blackbox_exporter read, so users write it once:
//
//   tls_server_config:          # TLS on the HTTP port (absent: plain HTTP)
//     cert_file: server.crt     # relative paths are relative to this file's directory
//     key_file: server.key
//     client_auth_type: RequireAndVerifyClientCert   # mTLS; default NoClientCert
//     client_ca_file: clients-ca.crt
//     min_version: TLS12        # TLS10..TLS13; default TLS12
//     max_version: TLS13
//   http_server_config:
//     headers: {Strict-Transport-Security: max-age=31536000}
//   basic_auth_users:           # user: bcrypt hash ($2y$/$2b$/$2a$, e.g. htpasswd -nBC 10)
//     prometheus: $2y$10$...
//
// Read strictly as exporter-toolkit does (an unknown key is an error). Keys of exporter-toolkit
// we do not implement (cipher_suites, curve_preferences, client_allowed_sans, inline cert/key,
// rate_limit) are refused with a clear error rather than ignored: silently serving weaker TLS
// or no rate limit than the file asks for would be worse than not starting.
//
// Thread safety: LoadWebConfig and MakeServerTlsContext are pure (they read files);
// BasicAuth::Allows may be called from any thread.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/base/result.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace smtp_exporter {

struct TlsServerSettings {
  std::string cert_file;  // absolute, or relative to the working directory, once loaded
  std::string key_file;
  // Go's crypto/tls names, as exporter-toolkit takes them: NoClientCert, RequestClientCert,
  // RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert.
  std::string client_auth_type = "NoClientCert";
  std::string client_ca_file;
  int min_version = 0;  // OpenSSL's TLS1_2_VERSION etc.; 0 until loaded (then TLS12)
  int max_version = 0;  // 0: the highest this OpenSSL has (TLS 1.3)
};

struct WebConfig {
  std::optional<TlsServerSettings> tls;
  // Response headers from http_server_config.headers (only those exporter-toolkit allows).
  std::vector<std::pair<std::string, std::string>> headers;
  // User name -> bcrypt hash. Empty: no authentication.
  std::map<std::string, std::string> basic_auth_users;
};

// Reads and checks `path`: the config, or "PATH: what is wrong" (with line:column where the
// YAML gives one). TLS files are checked by MakeServerTlsContext, not here.
Result<WebConfig> LoadWebConfig(const std::string& path);
// The same from text; relative file names are joined to `directory`.
Result<WebConfig> ParseWebConfig(const std::string& text, const std::string& directory);

// An OpenSSL server context for `settings`: certificate chain and key (checked to match),
// version bounds, client-certificate policy and CA. The error names the file at fault.
struct SslCtxFree {
  void operator()(SSL_CTX* context) const;
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
Result<SslCtxPtr> MakeServerTlsContext(const TlsServerSettings& settings);

// HTTP basic authentication (RFC 7617) against bcrypt hashes. Every request with a wrong or
// missing password costs one bcrypt computation, whether the user exists or not (an unknown
// user is checked against a decoy hash of the same cost), so timing tells nothing about which
// users exist; the final comparison is constant-time. A successful (user, password) pair is
// remembered (as a SHA-256 digest, never the password) so Prometheus' scrape every 15 s does
// not pay bcrypt's ~50 ms each time.
class BasicAuth {
 public:
  explicit BasicAuth(std::map<std::string, std::string> users);
  bool enabled() const { return !users_.empty(); }
  // Whether `authorization` (the Authorization header's value, may be empty) names a user
  // with the right password.
  bool Allows(std::string_view authorization) const;

 private:
  bool Verify(const std::string& password, const std::string& hash) const;

  std::map<std::string, std::string> users_;
  std::string decoy_hash_;
  mutable std::mutex mutex_;
  mutable std::set<std::string> verified_;  // digests of good (user, hash, password)
};

}  // namespace smtp_exporter
