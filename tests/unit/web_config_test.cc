// The web config (exporter/http/web_config.h): exporter-toolkit's format read strictly, bcrypt
// basic auth, and the TLS server context served through HttpFront (plain, TLS, mTLS) to an
// httplib client on loopback. Certificates come from tests/lab/web_tls.sh.
#include "exporter/http/web_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>

#include "exporter/http/http_front.h"
#include "exporter/http/http_policies.h"
#include "tests/support/basic_auth.h"
#include "tests/support/lab.h"

namespace smtp_exporter {
namespace {

using ::testing::HasSubstr;

// Cost 4, bcrypt's lowest: fast tests.
std::string Bcrypt(const std::string& password) { return testing::BcryptHash(password, 4); }

std::string Basic(const std::string& credentials) {
  return testing::BasicAuthorization(credentials);
}

// A connected TCP socket to 127.0.0.1:`port`, or -1.
int ConnectLoopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

TEST(WebConfigTest, ReadsExporterToolkitsFormatWithPathsRelativeToTheFile) {
  const auto config = ParseWebConfig(
      "tls_server_config:\n"
      "  cert_file: server.crt\n"
      "  key_file: /abs/server.key\n"
      "  client_auth_type: RequireAndVerifyClientCert\n"
      "  client_ca_file: ca.crt\n"
      "  min_version: TLS13\n"
      "  prefer_server_cipher_suites: true\n"
      "http_server_config:\n"
      "  http2: false\n"
      "  headers:\n"
      "    Strict-Transport-Security: max-age=31536000\n"
      "    X-Content-Type-Options: nosniff\n"
      "basic_auth_users:\n"
      "  prometheus: " + Bcrypt("secret") + "\n",
      "/etc/smtp_exporter");
  ASSERT_TRUE(config.ok()) << config.error().message;
  ASSERT_TRUE(config.value().tls.has_value());
  const TlsServerSettings& tls = *config.value().tls;
  EXPECT_EQ(tls.cert_file, "/etc/smtp_exporter/server.crt");
  EXPECT_EQ(tls.key_file, "/abs/server.key");
  EXPECT_EQ(tls.client_ca_file, "/etc/smtp_exporter/ca.crt");
  EXPECT_EQ(tls.client_auth_type, "RequireAndVerifyClientCert");
  EXPECT_EQ(tls.min_version, TLS1_3_VERSION);
  ASSERT_EQ(config.value().headers.size(), 1u);  // nosniff is always sent, not twice
  EXPECT_EQ(config.value().headers[0].first, "Strict-Transport-Security");
  EXPECT_EQ(config.value().basic_auth_users.count("prometheus"), 1u);
}

TEST(WebConfigTest, TheExampleFileLoads) {
  const auto config = LoadWebConfig(SMTP_EXPORTER_SOURCE_DIR "/examples/web-config.yml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_TRUE(config.value().tls.has_value());
  EXPECT_EQ(config.value().basic_auth_users.size(), 1u);
  const BasicAuth auth(config.value().basic_auth_users);
  EXPECT_TRUE(auth.Allows(Basic("prometheus:change-me")));  // as its comment says
}

TEST(WebConfigTest, AnEmptyFileMeansPlainHttpWithoutAuthentication) {
  const auto config = ParseWebConfig("", "");
  ASSERT_TRUE(config.ok());
  EXPECT_FALSE(config.value().tls.has_value());
  EXPECT_TRUE(config.value().basic_auth_users.empty());
}

TEST(WebConfigTest, TlsDefaultsToTls12AsExporterToolkit) {
  const auto config = ParseWebConfig("tls_server_config: {cert_file: a, key_file: b}\n", "");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config.value().tls->min_version, TLS1_2_VERSION);
  EXPECT_EQ(config.value().tls->client_auth_type, "NoClientCert");
}

TEST(WebConfigTest, RefusesWhatItCannotHonour) {
  const std::pair<const char*, const char*> cases[] = {
      {"tls_server_config: {cert_file: a}\n", "missing key_file"},
      {"tls_server_config: {key_file: a}\n", "missing cert_file"},
      {"tls_server_config: {cert_file: a, key_file: b, client_ca_file: c}\n",
       "without a client_auth_type"},
      {"tls_server_config: {cert_file: a, key_file: b, client_auth_type: Sometimes}\n",
       "invalid client_auth_type"},
      {"tls_server_config: {cert_file: a, key_file: b, min_version: SSL3}\n", "TLS10, TLS11"},
      {"tls_server_config: {cert_file: a, key_file: b, min_version: TLS13, max_version: TLS12}\n",
       "below min_version"},
      {"tls_server_config: {cert_file: a, key_file: b, cipher_suites: [X]}\n",
       "cipher_suites is not supported"},
      {"tls_server_config: {cert_file: a, key_file: b, client_allowed_sans: [x]}\n",
       "client_allowed_sans is not supported"},
      {"rate_limit: {burst: 1, interval: 1s}\n", "rate_limit is not supported"},
      {"tls_config: {}\n", "unknown key \"tls_config\""},
      {"tls_server_config: {cert_file: a, key_file: b, certfile: c}\n", "unknown key"},
      {"http_server_config: {headers: {Server: x}}\n", "\"Server\" is not allowed"},
      {"http_server_config: {headers: {X-Frame-Options: allow}}\n", "deny or sameorigin"},
      {"http_server_config: {headers: {X-Content-Type-Options: sniff}}\n", "must be nosniff"},
      {"http_server_config: {mystery: 1}\n", "unknown key \"http_server_config.mystery\""},
      {"basic_auth_users: {prometheus: plaintext}\n", "not a bcrypt hash"},
      {"basic_auth_users: {p: \"$2y$31$aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}\n",
       "cost 4 to 17"},
      {"basic_auth_users: {\"a:b\": \"$2y$10$aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}\n",
       "without ':'"},
      {"[1, 2]\n", "must be a mapping"},
      {"tls_server_config: {cert_file: [a], key_file: b}\n", "cert_file must be a string"},
  };
  for (const auto& [text, expected] : cases) {
    const auto config = ParseWebConfig(text, "");
    ASSERT_FALSE(config.ok()) << text;
    EXPECT_THAT(config.error().message, HasSubstr(expected)) << text;
  }
  // Untrusted text in an error stays on one line (found by tests/fuzz/web_config_fuzzer.cc).
  const auto escaped = ParseWebConfig("\"a\\nb\": 1\n", "");
  ASSERT_FALSE(escaped.ok());
  EXPECT_EQ(escaped.error().message.find('\n'), std::string::npos) << escaped.error().message;
  EXPECT_THAT(escaped.error().message, HasSubstr("a\\x0ab"));
  const auto located = ParseWebConfig("basic_auth_users:\n  x: y\n", "");
  ASSERT_FALSE(located.ok());
  EXPECT_THAT(located.error().message, HasSubstr("2:6:"));  // line:column of the bad value
}

TEST(WebConfigTest, LoadNamesTheFileInEveryError) {
  const std::string dir = testing::MakeTempDir("smtpx-webconfig");
  const auto missing = LoadWebConfig(dir + "/absent.yml");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, HasSubstr(dir + "/absent.yml"));
  std::ofstream(dir + "/bad.yml") << "tls_server_config: {cert_file: a}\n";
  const auto bad = LoadWebConfig(dir + "/bad.yml");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr(dir + "/bad.yml:"));
  std::ofstream(dir + "/rel.yml") << "tls_server_config: {cert_file: s.crt, key_file: s.key}\n";
  const auto relative = LoadWebConfig(dir + "/rel.yml");
  ASSERT_TRUE(relative.ok());
  EXPECT_EQ(relative.value().tls->cert_file, dir + "/s.crt");
  testing::RunCommand("rm -rf '" + dir + "'");
}

TEST(BasicAuthTest, AllowsOnlyTheRightPasswordOfAKnownUser) {
  const BasicAuth auth({{"prometheus", Bcrypt("s3cret")}, {"grafana", Bcrypt("other")}});
  ASSERT_TRUE(auth.enabled());
  EXPECT_TRUE(auth.Allows(Basic("prometheus:s3cret")));
  EXPECT_TRUE(auth.Allows(Basic("prometheus:s3cret")));  // remembered, still right
  EXPECT_TRUE(auth.Allows("basic " + Basic("grafana:other").substr(6)));  // scheme: any case
  EXPECT_FALSE(auth.Allows(Basic("prometheus:wrong")));
  EXPECT_FALSE(auth.Allows(Basic("prometheus:s3cret ")));
  EXPECT_FALSE(auth.Allows(Basic("grafana:s3cret")));  // another user's password
  EXPECT_FALSE(auth.Allows(Basic("nobody:s3cret")));
  EXPECT_FALSE(auth.Allows(Basic("prometheus")));      // no colon
  EXPECT_FALSE(auth.Allows(Basic(std::string("prometheus:s3cret\0x", 19))));
  EXPECT_FALSE(auth.Allows(""));
  EXPECT_FALSE(auth.Allows("Bearer abc"));
  EXPECT_FALSE(auth.Allows("Basic !!!!"));
  EXPECT_FALSE(auth.Allows("Basic " + std::string(10000, 'A')));
}

TEST(BasicAuthTest, NoUsersMeansNoAuthentication) {
  const BasicAuth auth({});
  EXPECT_FALSE(auth.enabled());
  EXPECT_TRUE(auth.Allows(""));
}

// Certificates from tests/lab/web_tls.sh, once per test binary run.
class WebTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = testing::MakeTempDir("smtpx-webtls");
    const auto made =
        testing::RunCommand(SMTP_EXPORTER_SOURCE_DIR "/tests/lab/web_tls.sh '" + dir_ + "'");
    ASSERT_EQ(made.exit_code, 0) << made.output;
  }
  static void TearDownTestSuite() { testing::RunCommand("rm -rf '" + dir_ + "'"); }

  TlsServerSettings Settings(const std::string& policy = "NoClientCert") {
    TlsServerSettings settings;
    settings.cert_file = dir_ + "/server.crt";
    settings.key_file = dir_ + "/server.key";
    settings.min_version = TLS1_2_VERSION;
    settings.client_auth_type = policy;
    if (policy != "NoClientCert") {
      settings.client_ca_file = dir_ + "/ca.crt";
    }
    return settings;
  }

  // Serves "ok" on /x over TLS with `settings`, behind basic auth when `auth` is given.
  void Serve(const TlsServerSettings& settings, const BasicAuth* auth = nullptr) {
    auto context = MakeServerTlsContext(settings);
    ASSERT_TRUE(context.ok()) << context.error().message;
    context_ = std::move(context.value());
    HttpPolicies policies;
    policies.basic_auth = auth;
    InstallCommonPolicies(routes_, std::move(policies));
    routes_.Get("/x", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok\n", "text/plain");
    });
    HttpFrontLimits limits;
    limits.request_timeout = std::chrono::milliseconds(1500);
    front_ = std::make_unique<HttpFront>(routes_, limits, context_.get());
    const auto bound = front_->Bind("127.0.0.1:0", "--test");
    ASSERT_TRUE(bound.ok()) << bound.error().message;
    port_ = bound.value();
    front_->Start();
  }

  std::unique_ptr<httplib::SSLClient> Client(const std::string& cert = "",
                                             const std::string& key = "") {
    auto client = cert.empty()
                      ? std::make_unique<httplib::SSLClient>("127.0.0.1", port_)
                      : std::make_unique<httplib::SSLClient>("127.0.0.1", port_, dir_ + "/" + cert,
                                                             dir_ + "/" + key);
    client->set_ca_cert_path((dir_ + "/ca.crt").c_str());
    client->enable_server_certificate_verification(true);
    client->set_connection_timeout(std::chrono::seconds(5));
    client->set_read_timeout(std::chrono::seconds(5));
    return client;
  }

  static std::string dir_;
  SslCtxPtr context_;
  HttpRoutes routes_;
  std::unique_ptr<HttpFront> front_;
  int port_ = 0;
};

std::string WebTlsTest::dir_;

TEST_F(WebTlsTest, ServesHttpsThatAClientVerifiesAgainstTheLabCa) {
  Serve(Settings());
  auto response = Client()->Get("/x");
  ASSERT_TRUE(response) << httplib::to_string(response.error());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "ok\n");
  // Plain HTTP to the TLS port gets no HTTP answer.
  httplib::Client plain("127.0.0.1", port_);
  plain.set_read_timeout(std::chrono::seconds(3));
  auto refused = plain.Get("/x");
  EXPECT_TRUE(!refused || refused->status != 200);
}

TEST_F(WebTlsTest, BasicAuthOverTls) {
  const BasicAuth auth({{"prometheus", Bcrypt("s3cret")}});
  Serve(Settings(), &auth);
  auto client = Client();
  auto anonymous = client->Get("/x");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_EQ(anonymous->get_header_value("WWW-Authenticate"), "Basic");
  EXPECT_EQ(anonymous->get_header_value("X-Content-Type-Options"), "nosniff");
  client->set_basic_auth("prometheus", "wrong");
  auto wrong = client->Get("/x");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  client->set_basic_auth("prometheus", "s3cret");
  auto right = client->Get("/x");
  ASSERT_TRUE(right);
  EXPECT_EQ(right->status, 200);
  EXPECT_EQ(right->body, "ok\n");
}

TEST_F(WebTlsTest, MutualTlsTakesOnlyClientsOfTheConfiguredCa) {
  Serve(Settings("RequireAndVerifyClientCert"));
  auto good = Client("client.crt", "client.key")->Get("/x");
  ASSERT_TRUE(good) << httplib::to_string(good.error());
  EXPECT_EQ(good->status, 200);
  EXPECT_FALSE(Client()->Get("/x")) << "served a client without a certificate";
  EXPECT_FALSE(Client("rogue-client.crt", "rogue-client.key")->Get("/x"))
      << "served a client whose certificate another CA signed";
}

TEST_F(WebTlsTest, MinVersionIsEnforced) {
  TlsServerSettings settings = Settings();
  settings.min_version = TLS1_3_VERSION;
  Serve(settings);
  EXPECT_TRUE(Client()->Get("/x"));
  // A TLS 1.2-only client is refused.
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_max_proto_version(context, TLS1_2_VERSION);
  const int fd = ConnectLoopback(port_);
  ASSERT_GE(fd, 0);
  SSL* ssl = SSL_new(context);
  SSL_set_fd(ssl, fd);
  EXPECT_NE(SSL_connect(ssl), 1);
  SSL_free(ssl);
  ::close(fd);
  SSL_CTX_free(context);
}

// A client that connects and never says ClientHello holds its connection only until the
// request deadline, as a plain-HTTP one does.
TEST_F(WebTlsTest, ASilentClientIsCutOffAtTheRequestDeadline) {
  Serve(Settings());
  const int fd = ConnectLoopback(port_);
  ASSERT_GE(fd, 0);
  timeval wait{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
  const auto start = std::chrono::steady_clock::now();
  char byte = 0;
  const ssize_t n = ::recv(fd, &byte, 1, 0);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(n, 0) << "the server did not close the connection";
  EXPECT_LT(took, std::chrono::seconds(4));
  ::close(fd);
}

TEST_F(WebTlsTest, TlsContextErrorsNameTheFile) {
  TlsServerSettings settings = Settings();
  settings.key_file = dir_ + "/mismatch.key";
  auto mismatch = MakeServerTlsContext(settings);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_THAT(mismatch.error().message, HasSubstr("does not match"));
  settings = Settings();
  settings.cert_file = dir_ + "/absent.crt";
  auto absent = MakeServerTlsContext(settings);
  ASSERT_FALSE(absent.ok());
  EXPECT_THAT(absent.error().message, HasSubstr("absent.crt"));
  settings = Settings("RequireAndVerifyClientCert");
  settings.client_ca_file = dir_ + "/server.key";
  auto not_a_ca = MakeServerTlsContext(settings);
  ASSERT_FALSE(not_a_ca.ok());
  EXPECT_THAT(not_a_ca.error().message, HasSubstr("client_ca_file"));
}

}  // namespace
}  // namespace smtp_exporter
