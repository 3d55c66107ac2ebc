#include "exporter/http/web_config.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509err.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "config/base/quote.h"
#include "config/domain_name.h"

namespace smtp_exporter {
namespace {

// exporter-toolkit's files are small; anything bigger is not one.
constexpr std::size_t kMaxWebConfigBytes = 1 << 20;

std::string Where(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.line < 0) {
    return "";
  }
  return std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1) + ": ";
}

Error Bad(const YAML::Node& node, const std::string& what) {
  return Error::InvalidArgument(Where(node) + what);
}

std::string JoinDirectory(const std::string& directory, const std::string& file) {
  if (file.empty() || file.front() == '/' || directory.empty()) {
    return file;
  }
  return directory + "/" + file;
}

Result<std::string> ScalarOf(const YAML::Node& node, const std::string& key) {
  if (!node.IsScalar()) {
    return Bad(node, key + " must be a string");
  }
  return node.Scalar();
}

Result<bool> BoolOf(const YAML::Node& node, const std::string& key) {
  const std::string& text = node.IsScalar() ? node.Scalar() : std::string();
  if (text == "true") {
    return true;
  }
  if (text == "false") {
    return false;
  }
  return Bad(node, key + " must be true or false");
}

Result<int> TlsVersionOf(const YAML::Node& node, const std::string& key) {
  static const std::map<std::string, int> kVersions = {{"TLS10", TLS1_VERSION},
                                                       {"TLS11", TLS1_1_VERSION},
                                                       {"TLS12", TLS1_2_VERSION},
                                                       {"TLS13", TLS1_3_VERSION}};
  const auto found = node.IsScalar() ? kVersions.find(node.Scalar()) : kVersions.end();
  if (found == kVersions.end()) {
    return Bad(node, key + " must be TLS10, TLS11, TLS12 or TLS13");
  }
  return found->second;
}

// Keys of exporter-toolkit we refuse rather than ignore (see the header).
const std::set<std::string> kUnsupportedTlsKeys = {"cert", "key", "client_ca", "cipher_suites",
                                                   "curve_preferences",
                                                   "client_allowed_sans"};

Result<TlsServerSettings> ParseTls(const YAML::Node& node, const std::string& directory) {
  if (!node.IsMap()) {
    return Bad(node, "tls_server_config must be a mapping");
  }
  TlsServerSettings tls;
  tls.min_version = TLS1_2_VERSION;
  for (const auto& entry : node) {
    const std::string key = entry.first.Scalar();
    const YAML::Node& value = entry.second;
    if (kUnsupportedTlsKeys.count(key) != 0) {
      return Bad(entry.first, "tls_server_config: " + key +
                                  " is not supported by smtp_exporter (use cert_file, key_file, "
                                  "client_ca_file, client_auth_type, min_version, max_version)");
    }
    if (key == "cert_file" || key == "key_file" || key == "client_ca_file" ||
        key == "client_auth_type") {
      Result<std::string> text = ScalarOf(value, key);
      if (!text.ok()) {
        return text.error();
      }
      if (key == "cert_file") {
        tls.cert_file = JoinDirectory(directory, text.value());
      } else if (key == "key_file") {
        tls.key_file = JoinDirectory(directory, text.value());
      } else if (key == "client_ca_file") {
        tls.client_ca_file = JoinDirectory(directory, text.value());
      } else {
        static const std::set<std::string> kPolicies = {
            "", "NoClientCert", "RequestClientCert", "RequireAnyClientCert",
            "RequireClientCert", "VerifyClientCertIfGiven", "RequireAndVerifyClientCert"};
        if (kPolicies.count(text.value()) == 0) {
          return Bad(value, "invalid client_auth_type " + Quote(text.value()));
        }
        // "RequireClientCert" is exporter-toolkit's old name for RequireAnyClientCert.
        tls.client_auth_type = text.value() == "RequireClientCert" ? "RequireAnyClientCert"
                               : text.value().empty()             ? "NoClientCert"
                                                                  : text.value();
      }
    } else if (key == "min_version" || key == "max_version") {
      Result<int> version = TlsVersionOf(value, key);
      if (!version.ok()) {
        return version.error();
      }
      (key == "min_version" ? tls.min_version : tls.max_version) = version.value();
    } else if (key == "prefer_server_cipher_suites") {
      if (Result<bool> flag = BoolOf(value, key); !flag.ok()) {
        return flag.error();
      }
    } else {
      return Bad(entry.first, "unknown key " + Quote("tls_server_config." + key));
    }
  }
  if (tls.cert_file.empty()) {
    return Bad(node, "tls_server_config: missing cert_file");
  }
  if (tls.key_file.empty()) {
    return Bad(node, "tls_server_config: missing key_file");
  }
  if (!tls.client_ca_file.empty() && tls.client_auth_type == "NoClientCert") {
    return Bad(node, "tls_server_config: client_ca_file is set without a client_auth_type");
  }
  if (tls.max_version != 0 && tls.max_version < tls.min_version) {
    return Bad(node, "tls_server_config: max_version is below min_version");
  }
  return tls;
}

bool HeaderValueIsSafe(const std::string& value) {
  return std::none_of(value.begin(), value.end(),
                      [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

Status ParseHttp(const YAML::Node& node, WebConfig& config) {
  if (!node.IsMap()) {
    return Bad(node, "http_server_config must be a mapping");
  }
  for (const auto& entry : node) {
    const std::string key = entry.first.Scalar();
    if (key == "http2") {
      // Accepted for compatibility; we serve HTTP/1.1 only (Prometheus scrapes over it).
      if (Result<bool> flag = BoolOf(entry.second, key); !flag.ok()) {
        return flag.error();
      }
    } else if (key == "headers") {
      if (!entry.second.IsMap()) {
        return Bad(entry.second, "http_server_config.headers must be a mapping");
      }
      // exporter-toolkit's list: only security headers, with the values that make sense.
      static const std::set<std::string> kAllowed = {
          "strict-transport-security", "x-content-type-options", "x-frame-options",
          "x-xss-protection", "content-security-policy"};
      for (const auto& header : entry.second) {
        const std::string name = header.first.Scalar();
        const std::string value = header.second.IsScalar() ? header.second.Scalar() : "";
        const std::string lower = LowerAscii(name);
        if (kAllowed.count(lower) == 0) {
          return Bad(header.first, "http_server_config.headers: " + Quote(name) + " is not allowed");
        }
        if (!HeaderValueIsSafe(value) || value.empty()) {
          return Bad(header.second, "http_server_config.headers: bad value for " + Quote(name));
        }
        if (lower == "x-content-type-options") {
          if (value != "nosniff") {
            return Bad(header.second, "X-Content-Type-Options must be nosniff");
          }
          continue;  // every reply carries it already (http_policies.h)
        }
        if (lower == "x-frame-options" && LowerAscii(value) != "deny" &&
            LowerAscii(value) != "sameorigin") {
          return Bad(header.second, "X-Frame-Options must be deny or sameorigin");
        }
        config.headers.emplace_back(name, value);
      }
    } else {
      return Bad(entry.first, "unknown key " + Quote("http_server_config." + key));
    }
  }
  return Status::Ok();
}

// bcrypt costs we take. Each request with basic auth may cost one bcrypt computation, and the
// decoy hash is computed at start-up: cost 17 (htpasswd's highest) takes about 10 s here,
// 31 would take days, so a higher cost is refused as a mistake, not served as a hang.
constexpr int kMinBcryptCost = 4;
constexpr int kMaxBcryptCost = 17;

// Whether `hash` is a bcrypt hash crypt(3) can check: $2a$, $2b$ or $2y$, a two-digit cost in
// range, 53 characters of salt and hash.
bool IsBcryptHash(const std::string& hash) {
  if (!(hash.size() == 60 && hash[0] == '$' && hash[1] == '2' &&
        (hash[2] == 'a' || hash[2] == 'b' || hash[2] == 'y') && hash[3] == '$' &&
        std::isdigit(static_cast<unsigned char>(hash[4])) &&
        std::isdigit(static_cast<unsigned char>(hash[5])) && hash[6] == '$')) {
    return false;
  }
  const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  return cost >= kMinBcryptCost && cost <= kMaxBcryptCost;
}

}  // namespace

Result<WebConfig> ParseWebConfig(const std::string& text, const std::string& directory) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Error::InvalidArgument(std::to_string(e.mark.line + 1) + ":" +
                                  std::to_string(e.mark.column + 1) + ": " +
                                  Printable(e.msg, /*quoted=*/false));
  }
  WebConfig config;
  if (root.IsNull()) {
    return config;  // an empty file: plain HTTP, no authentication (as exporter-toolkit)
  }
  if (!root.IsMap()) {
    return Bad(root, "the web config must be a mapping");
  }
  for (const auto& entry : root) {
    const std::string key = entry.first.Scalar();
    if (key == "tls_server_config") {
      if (entry.second.IsNull()) {
        continue;
      }
      Result<TlsServerSettings> tls = ParseTls(entry.second, directory);
      if (!tls.ok()) {
        return tls.error();
      }
      config.tls = std::move(tls.value());
    } else if (key == "http_server_config") {
      if (entry.second.IsNull()) {
        continue;
      }
      if (Status http = ParseHttp(entry.second, config); !http.ok()) {
        return http.error();
      }
    } else if (key == "basic_auth_users") {
      if (entry.second.IsNull()) {
        continue;
      }
      if (!entry.second.IsMap()) {
        return Bad(entry.second, "basic_auth_users must be a mapping of user: bcrypt hash");
      }
      for (const auto& user : entry.second) {
        const std::string name = user.first.Scalar();
        const std::string hash = user.second.IsScalar() ? user.second.Scalar() : "";
        // RFC 7617 §2: the user-id cannot contain a colon.
        if (name.empty() || name.find(':') != std::string::npos) {
          return Bad(user.first, "basic_auth_users: a user name must be non-empty, without ':'");
        }
        if (!IsBcryptHash(hash)) {
          return Bad(user.second, "basic_auth_users: the password of " + Quote(name) +
                                      " is not a bcrypt hash of cost 4 to 17 ($2y$10$..., e.g. "
                                      "htpasswd -nBC 10)");
        }
        config.basic_auth_users[name] = hash;
      }
    } else if (key == "rate_limit") {
      return Bad(entry.first, "rate_limit is not supported by smtp_exporter");
    } else {
      return Bad(entry.first, "unknown key " + Quote(key));
    }
  }
  return config;
}

Result<WebConfig> LoadWebConfig(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return Error::Io(Printable(path, false) + ": cannot read the web config");
  }
  std::string text(kMaxWebConfigBytes + 1, '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(file.gcount()));
  if (text.size() > kMaxWebConfigBytes) {
    return Error::InvalidArgument(Printable(path, false) + ": larger than 1 MiB, not a web config");
  }
  const auto slash = path.rfind('/');
  Result<WebConfig> config =
      ParseWebConfig(text, slash == std::string::npos ? "" : path.substr(0, slash));
  if (!config.ok()) {
    return Error::InvalidArgument(Printable(path, false) + ":" + config.error().message);
  }
  return config;
}

void SslCtxFree::operator()(SSL_CTX* context) const { SSL_CTX_free(context); }

namespace {

std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) {
    return "unknown error";
  }
  std::array<char, 256> text{};
  ERR_error_string_n(code, text.data(), text.size());
  return text.data();
}

// RequestClientCert and RequireAnyClientCert take any certificate, as Go's do.
int AcceptAnyCertificate(int, X509_STORE_CTX*) { return 1; }

}  // namespace

Result<SslCtxPtr> MakeServerTlsContext(const TlsServerSettings& settings) {
  ERR_clear_error();
  SslCtxPtr context(SSL_CTX_new(TLS_server_method()));
  if (!context) {
    return Error::Io("cannot create a TLS context: " + OpenSslError());
  }
  SSL_CTX_set_min_proto_version(context.get(), settings.min_version);
  SSL_CTX_set_max_proto_version(context.get(), settings.max_version);
  SSL_CTX_set_options(context.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_use_certificate_chain_file(context.get(), settings.cert_file.c_str()) != 1) {
    return Error::InvalidArgument("cert_file " + Quote(settings.cert_file) + ": " + OpenSslError());
  }
  if (SSL_CTX_use_PrivateKey_file(context.get(), settings.key_file.c_str(), SSL_FILETYPE_PEM) !=
      1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      return Error::InvalidArgument("key_file " + Quote(settings.key_file) +
                                    " does not match cert_file " + Quote(settings.cert_file));
    }
    return Error::InvalidArgument("key_file " + Quote(settings.key_file) + ": " + OpenSslError());
  }
  if (SSL_CTX_check_private_key(context.get()) != 1) {
    return Error::InvalidArgument("key_file " + Quote(settings.key_file) +
                                  " does not match cert_file " + Quote(settings.cert_file));
  }
  if (!settings.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(context.get(), settings.client_ca_file.c_str(),
                                      nullptr) != 1) {
      return Error::InvalidArgument("client_ca_file " + Quote(settings.client_ca_file) + ": " +
                                    OpenSslError());
    }
    // The CA names sent in the CertificateRequest, so a client picks the right certificate.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(settings.client_ca_file.c_str());
    if (names != nullptr) {
      SSL_CTX_set_client_CA_list(context.get(), names);
    }
  }
  const std::string& policy = settings.client_auth_type;
  if (policy == "RequestClientCert") {
    SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER, AcceptAnyCertificate);
  } else if (policy == "RequireAnyClientCert") {
    SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       AcceptAnyCertificate);
  } else if (policy == "VerifyClientCertIfGiven") {
    SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER, nullptr);
  } else if (policy == "RequireAndVerifyClientCert") {
    SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       nullptr);
  } else {
    SSL_CTX_set_verify(context.get(), SSL_VERIFY_NONE, nullptr);
  }
  return context;
}

namespace {

// Base64 (RFC 4648 §4) to bytes; nullopt on anything that is not canonical base64.
std::optional<std::string> DecodeBase64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0 || text.size() > 4096) {
    return std::nullopt;
  }
  std::string decoded(text.size() / 4 * 3, '\0');
  const int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                                     reinterpret_cast<const unsigned char*>(text.data()),
                                     static_cast<int>(text.size()));
  if (length < 0) {
    return std::nullopt;
  }
  std::size_t padding = 0;
  for (std::size_t i = text.size(); i > 0 && text[i - 1] == '=' && padding < 2; --i) {
    ++padding;
  }
  decoded.resize(static_cast<std::size_t>(length) - padding);
  return decoded;
}

std::string Sha256(const std::string& data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest.data()), size);
}

}  // namespace

BasicAuth::BasicAuth(std::map<std::string, std::string> users) : users_(std::move(users)) {
  if (users_.empty()) {
    return;
  }
  // The decoy costs what the configured hashes cost (their two-digit cost field).
  const std::string& sample = users_.begin()->second;
  const unsigned long cost = std::stoul(sample.substr(4, 2));
  std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> salt{};
  crypt_data data{};
  if (crypt_gensalt_rn("$2b$", cost, nullptr, 0, salt.data(), static_cast<int>(salt.size())) !=
          nullptr &&
      crypt_rn("decoy password", salt.data(), &data, sizeof(data)) != nullptr &&
      data.output[0] != '*') {
    decoy_hash_ = data.output;
  } else {
    decoy_hash_ = sample;  // as costly; the user is unknown, so the result is ignored anyway
  }
}

bool BasicAuth::Verify(const std::string& password, const std::string& hash) const {
  auto data = std::make_unique<crypt_data>();  // 32 KB: not on a connection thread's stack
  const char* result = crypt_rn(password.c_str(), hash.c_str(), data.get(), sizeof(*data));
  if (result == nullptr || result[0] == '*' || std::string_view(result).size() != hash.size()) {
    return false;
  }
  return CRYPTO_memcmp(result, hash.data(), hash.size()) == 0;
}

bool BasicAuth::Allows(std::string_view authorization) const {
  if (users_.empty()) {
    return true;
  }
  constexpr std::string_view kScheme = "basic ";
  std::string user;
  std::string password;
  bool parsed = false;
  if (authorization.size() > kScheme.size() &&
      LowerAscii(authorization.substr(0, kScheme.size())) == kScheme) {
    const auto credentials = DecodeBase64(authorization.substr(kScheme.size()));
    if (credentials) {
      const auto colon = credentials->find(':');
      if (colon != std::string::npos && credentials->find('\0') == std::string::npos) {
        user = credentials->substr(0, colon);
        password = credentials->substr(colon + 1);
        parsed = true;
      }
    }
  }
  if (!parsed) {
    return false;  // no credentials: nothing to time, nothing to compute (as exporter-toolkit)
  }
  const auto found = users_.find(user);
  const bool known = found != users_.end();
  const std::string& hash = known ? found->second : decoy_hash_;
  const std::string digest = Sha256(user + '\0' + hash + '\0' + password);
  if (known) {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (verified_.count(digest) != 0) {
      return true;
    }
  }
  const bool good = Verify(password, hash) && known;
  if (good) {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (verified_.size() >= 256) {
      verified_.clear();  // bounded; the next requests pay bcrypt once more
    }
    verified_.insert(digest);
  }
  return good;
}

}  // namespace smtp_exporter
