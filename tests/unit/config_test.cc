#include "config/config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <variant>
#include <vector>

namespace smtp_exporter {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

std::string TestdataDir() {
  return std::string(SMTP_EXPORTER_SOURCE_DIR) + "/tests/testdata/config";
}

// The Config, or a test failure showing the error.
Config MustLoad(const Result<Config>& result) {
  if (!result.ok()) {
    ADD_FAILURE() << "unexpected error: " << result.error().message;
    return Config{};
  }
  return result.value();
}

std::string ErrorOf(const Result<Config>& result) {
  return result.ok() ? "(loaded without error)" : result.error().message;
}

std::vector<std::string> ServerTexts(const std::vector<HostPort>& servers) {
  std::vector<std::string> texts;
  for (const HostPort& server : servers) {
    texts.push_back(server.ToString());
  }
  return texts;
}

const DomainConfig* FindDomain(const Config& config, const std::string& name) {
  for (const auto& domain : config.domains) {
    if (domain.name == name) {
      return &domain;
    }
  }
  return nullptr;
}

// Each invalid file with the exact error it must produce (after "<dir>/").
struct InvalidCase {
  const char* file;
  const char* message;
};

constexpr InvalidCase kInvalidCases[] = {
    {"invalid-syntax.yml", "invalid-syntax.yml:3:10: YAML syntax error: illegal map value"},
    // yaml-cpp 0.7's LoadAll() would loop forever, allocating, on this (yaml-cpp#1040).
    {"invalid-stray-comma.yml", "invalid-stray-comma.yml:1:1: YAML syntax error: unexpected \",\""},
    {"invalid-empty.yml",
     "invalid-empty.yml:1:1: the config is empty; it needs at least a \"domains:\" list "
     "(\"domains: []\" for none)"},
    {"invalid-multiple-documents.yml",
     "invalid-multiple-documents.yml:2:1: only one YAML document is allowed, found a second "
     "one"},
    {"invalid-top-not-mapping.yml",
     "invalid-top-not-mapping.yml:1:1: the top level must be a mapping with \"global:\" and "
     "\"domains:\", got a list"},
    {"invalid-no-domains.yml",
     "invalid-no-domains.yml:1:1: missing \"domains:\", the list of domains to check "
     "(\"domains: []\" to serve /probe only)"},
    {"invalid-domains-not-list.yml",
     "invalid-domains-not-list.yml:2:3: \"domains:\" must be a list of mappings such as "
     "\"- name: example.org\" (\"domains: []\" for none), got a mapping"},
    {"invalid-global-not-mapping.yml",
     "invalid-global-not-mapping.yml:1:9: \"global:\" must be a mapping, got \"5m\""},
    {"invalid-unknown-key-top.yml",
     "invalid-unknown-key-top.yml:3:1: key \"interval\" is not allowed at the top level; set "
     "it under \"global:\""},
    {"invalid-unknown-key-top-other.yml",
     "invalid-unknown-key-top-other.yml:4:1: unknown top-level key \"scrape_configs\"; allowed "
     "keys: global, probe, metrics, domains"},
    {"invalid-unknown-key-global.yml",
     "invalid-unknown-key-global.yml:2:3: unknown key \"intervall\" under \"global:\"; did you "
     "mean \"interval\"?"},
    {"invalid-unknown-key-domain.yml",
     "invalid-unknown-key-domain.yml:3:5: key \"concurrency\" is not allowed in a \"domains:\" "
     "entry; set it under \"global:\""},
    {"invalid-unknown-key-domain-typo.yml",
     "invalid-unknown-key-domain-typo.yml:3:5: unknown key \"helo\" in a \"domains:\" entry; "
     "did you mean \"helo_name\"?"},
    {"invalid-duplicate-key.yml",
     "invalid-duplicate-key.yml:4:3: duplicate key \"timeout\" (first at line 2, column 3)"},
    {"invalid-concurrency-type.yml",
     "invalid-concurrency-type.yml:2:16: concurrency must be a positive integer (at most "
     "1024), got \"many\""},
    {"invalid-concurrency-zero.yml",
     "invalid-concurrency-zero.yml:2:16: concurrency must be a positive integer (at most "
     "1024), got 0"},
    {"invalid-domains-per-session-too-many.yml",
     "invalid-domains-per-session-too-many.yml:2:24: domains_per_session must be a positive "
     "integer (at most 99), got 100"},
    {"invalid-endpoint-concurrency-negative.yml",
     "invalid-endpoint-concurrency-negative.yml:2:25: endpoint_concurrency must be a positive "
     "integer (at most 64), got -1"},
    {"invalid-timeout-duration.yml",
     "invalid-timeout-duration.yml:2:12: timeout must be a duration such as 30s, 5m, 1h30m, "
     "250ms or integer seconds, got \"soon\""},
    {"invalid-timeout-too-short.yml",
     "invalid-timeout-too-short.yml:2:12: timeout must be between 1s and 5m, got 500ms"},
    {"invalid-timeout-too-long.yml",
     "invalid-timeout-too-long.yml:3:14: timeout must be between 1s and 5m, got 10m"},
    {"invalid-interval-zero.yml",
     "invalid-interval-zero.yml:2:13: interval must be at least 1s, got 0s"},
    {"invalid-dns-timeout-empty.yml",
     "invalid-dns-timeout-empty.yml:2:3: dns_timeout must be a duration such as 30s, 5m, "
     "1h30m, 250ms or integer seconds, got nothing"},
    {"invalid-jitter.yml",
     "invalid-jitter.yml:3:11: jitter (1m) must be at most half of interval (1m)"},
    {"invalid-jitter-over-half.yml",
     "invalid-jitter-over-half.yml:3:11: jitter (31s) must be at most half of interval (1m)"},
    {"invalid-domain-interval-jitter.yml",
     "invalid-domain-interval-jitter.yml:5:15: interval (30s) must be at least twice the global "
     "jitter (30s)"},
    {"invalid-port-zero.yml",
     "invalid-port-zero.yml:2:9: port must be an integer from 1 to 65535, got 0"},
    {"invalid-port-too-large.yml",
     "invalid-port-too-large.yml:3:11: port must be an integer from 1 to 65535, got 65536"},
    {"invalid-bool.yml",
     "invalid-bool.yml:2:20: test_open_relay must be true or false, got \"maybe\""},
    {"invalid-domain-name.yml",
     "invalid-domain-name.yml:2:11: domain name \"exa_mple.org\" is invalid: \"_\" is not "
     "allowed (only letters, digits, hyphens and dots)"},
    {"invalid-domain-hyphen.yml",
     "invalid-domain-hyphen.yml:2:11: domain name \"-mail.example.org\" is invalid: label "
     "\"-mail\" starts or ends with a hyphen"},
    {"invalid-domain-ip.yml",
     "invalid-domain-ip.yml:2:11: domain name \"192.0.2.1\" is invalid: the last label is all "
     "digits (IP addresses are not host names)"},
    {"invalid-domain-label-too-long.yml",
     "invalid-domain-label-too-long.yml:2:11: domain name "
     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.org\" is "
     "invalid: label \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" is "
     "longer than 63 characters"},
    {"invalid-domain-name-too-long.yml",
     "invalid-domain-name-too-long.yml:2:11: domain name "
     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaa...\" is "
     "invalid: it is longer than 253 characters"},
    {"invalid-domain-duplicate.yml",
     "invalid-domain-duplicate.yml:4:11: duplicate domain \"example.org\" (first at line 2, "
     "column 11)"},
    {"invalid-domain-not-mapping.yml",
     "invalid-domain-not-mapping.yml:2:5: each \"domains:\" entry must be a mapping such as "
     "\"- name: example.org\", got \"example.org\""},
    {"invalid-domain-no-name.yml",
     "invalid-domain-no-name.yml:2:5: this \"domains:\" entry has no \"name:\""},
    {"invalid-dns-server-name.yml",
     "invalid-dns-server-name.yml:2:17: dns_servers entry \"ns1.example.net\" is invalid: "
     "\"ns1.example.net\" is not an IPv4 or IPv6 address (the forms are IP, IP:PORT, IPv6 and "
     "[IPv6]:PORT; host names are not resolved)"},
    {"invalid-dns-server-port.yml",
     "invalid-dns-server-port.yml:3:19: dns_servers entry \"192.0.2.53:0\" is invalid: \"0\" "
     "is not a port number (1-65535) (the forms are IP, IP:PORT, IPv6 and [IPv6]:PORT; host "
     "names are not resolved)"},
    {"invalid-dns-servers-not-list.yml",
     "invalid-dns-servers-not-list.yml:2:16: dns_servers must be a list of IP[:PORT] literals "
     "such as [\"192.0.2.53\", \"[2001:db8::53]:53\"] ([] for the system resolver), got "
     "\"192.0.2.53\""},
    {"invalid-probe-address.yml",
     "invalid-probe-address.yml:2:23: test_probe_address \"<postmaster@example.com>\" is "
     "invalid: spaces, \"<\", \">\", control and non-ASCII characters are not allowed"},
    {"invalid-probe-address-no-at.yml",
     "invalid-probe-address-no-at.yml:2:23: test_probe_address \"postmaster\" is invalid: it "
     "must be local@domain"},
    {"invalid-helo-name.yml",
     "invalid-helo-name.yml:2:14: helo_name \"mx probe.example.net\" is not a valid host name: "
     "\" \" is not allowed (only letters, digits, hyphens and dots)"},
};

TEST(ConfigTest, InvalidFilesFailWithExactMessage) {
  for (const InvalidCase& c : kInvalidCases) {
    const std::string path = TestdataDir() + "/" + c.file;
    EXPECT_EQ(ErrorOf(LoadConfigFile(path)), TestdataDir() + "/" + c.message) << c.file;
  }
}

TEST(ConfigTest, EveryInvalidFileIsInTheTable) {
  std::set<std::string> listed;
  for (const InvalidCase& c : kInvalidCases) {
    listed.insert(c.file);
  }
  std::size_t found = 0;
  for (const auto& entry : std::filesystem::directory_iterator(TestdataDir())) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("invalid-")) {
      ++found;
      EXPECT_TRUE(listed.contains(name)) << name << " has no expected message";
    }
  }
  EXPECT_EQ(found, listed.size());
}

TEST(ConfigTest, MinimalFileGetsEveryDefault) {
  const Config config = MustLoad(LoadConfigFile(TestdataDir() + "/valid-minimal.yml"));
  EXPECT_EQ(config.interval, minutes(5));
  EXPECT_EQ(config.jitter, seconds(30));
  EXPECT_EQ(config.concurrency, 16u);
  EXPECT_EQ(config.endpoint_concurrency, 4u);
  EXPECT_EQ(config.per_ip_connections, 2u);
  EXPECT_EQ(config.domains_per_session, 99u);
  EXPECT_TRUE(config.dns_servers.empty());
  EXPECT_EQ(config.dns_timeout, seconds(2));
  EXPECT_EQ(config.defaults.timeout, seconds(12));
  EXPECT_EQ(config.defaults.helo_name, DefaultHeloName());
  EXPECT_EQ(config.defaults.port, 25);
  EXPECT_TRUE(config.defaults.test_null_sender);
  EXPECT_TRUE(config.defaults.test_postmaster);
  EXPECT_TRUE(config.defaults.test_open_relay);
  EXPECT_EQ(config.defaults.test_probe_address, "postmaster@example.com");
  ASSERT_EQ(config.domains.size(), 1u);
  const DomainConfig& domain = config.domains[0];
  EXPECT_EQ(domain.name, "example.org");
  EXPECT_EQ(domain.interval, minutes(5));
  EXPECT_TRUE(domain.dns_servers.empty());
  EXPECT_EQ(domain.options.timeout, seconds(12));
  EXPECT_EQ(domain.options.helo_name, DefaultHeloName());
  EXPECT_EQ(domain.options.port, 25);
  EXPECT_TRUE(domain.options.test_null_sender);
  EXPECT_TRUE(domain.options.test_postmaster);
  EXPECT_TRUE(domain.options.test_open_relay);
  EXPECT_EQ(domain.options.test_probe_address, "postmaster@example.com");
}

TEST(ConfigTest, FullFileSetsEveryKey) {
  const Config config = MustLoad(LoadConfigFile(TestdataDir() + "/valid-full.yml"));
  EXPECT_EQ(config.interval, minutes(10));
  EXPECT_EQ(config.jitter, seconds(45));
  EXPECT_EQ(config.concurrency, 8u);
  EXPECT_EQ(config.endpoint_concurrency, 2u);
  EXPECT_EQ(config.per_ip_connections, 1u);
  EXPECT_EQ(config.domains_per_session, 1u);
  EXPECT_EQ(ServerTexts(config.dns_servers),
            (std::vector<std::string>{"192.0.2.53:53", "192.0.2.54:5353", "[2001:db8::53]:53",
                                      "[2001:db8::54]:5353"}));
  EXPECT_EQ(config.dns_timeout, milliseconds(1500));
  EXPECT_EQ(config.defaults.timeout, seconds(20));
  EXPECT_EQ(config.defaults.helo_name, "mx-probe.example.net");  // lower case, no final dot
  EXPECT_EQ(config.defaults.port, 2525);
  EXPECT_FALSE(config.defaults.test_null_sender);
  EXPECT_FALSE(config.defaults.test_postmaster);  // "no"
  EXPECT_TRUE(config.defaults.test_open_relay);   // "on"
  EXPECT_EQ(config.defaults.test_probe_address, "relay-test@example.com");

  ASSERT_EQ(config.domains.size(), 3u);
  EXPECT_EQ(config.domains[0].name, "example.org");  // "Example.ORG." normalised
  EXPECT_EQ(config.domains[1].name, "example.net");
  EXPECT_EQ(config.domains[2].name, "mail.example.com");

  const DomainConfig& net = config.domains[1];
  EXPECT_EQ(net.options.timeout, seconds(30));  // integer seconds
  EXPECT_EQ(net.options.helo_name, "probe2.example.net");
  EXPECT_EQ(net.options.port, 25);
  EXPECT_TRUE(net.options.test_null_sender);
  EXPECT_TRUE(net.options.test_postmaster);
  EXPECT_FALSE(net.options.test_open_relay);
  EXPECT_EQ(net.options.test_probe_address, "other@example.org");
  EXPECT_EQ(net.interval, minutes(90));
  EXPECT_TRUE(net.dns_servers.empty());  // [] overrides the global list: system resolver

  const DomainConfig& com = config.domains[2];
  EXPECT_EQ(ServerTexts(com.dns_servers), std::vector<std::string>{"[::1]:53"});
  EXPECT_EQ(com.interval, minutes(10));
  EXPECT_EQ(com.options.timeout, seconds(20));
}

TEST(ConfigTest, DomainOverridesDoNotLeakIntoOtherDomains) {
  const Config config = MustLoad(ParseConfig(R"(
global:
  timeout: 15s
  dns_servers: ["192.0.2.53"]
domains:
  - name: example.org
  - name: example.net
    test_open_relay: false
    timeout: 40s
    port: 2525
    interval: 10m
    dns_servers: ["192.0.2.54"]
    helo_name: other.example.net
    test_probe_address: probe@example.com
  - name: example.com
)",
                                             "inline"));
  ASSERT_EQ(config.domains.size(), 3u);
  for (const DomainConfig* domain :
       {FindDomain(config, "example.org"), FindDomain(config, "example.com")}) {
    ASSERT_NE(domain, nullptr);
    EXPECT_TRUE(domain->options.test_open_relay) << domain->name;
    EXPECT_EQ(domain->options.timeout, seconds(15)) << domain->name;
    EXPECT_EQ(domain->options.port, 25) << domain->name;
    EXPECT_EQ(domain->interval, minutes(5)) << domain->name;
    EXPECT_EQ(ServerTexts(domain->dns_servers), std::vector<std::string>{"192.0.2.53:53"})
        << domain->name;
    EXPECT_EQ(domain->options.helo_name, DefaultHeloName()) << domain->name;
    EXPECT_EQ(domain->options.test_probe_address, "postmaster@example.com") << domain->name;
  }
  const DomainConfig* net = FindDomain(config, "example.net");
  ASSERT_NE(net, nullptr);
  EXPECT_FALSE(net->options.test_open_relay);
  EXPECT_EQ(net->options.timeout, seconds(40));
  EXPECT_EQ(net->options.port, 2525);
  EXPECT_EQ(net->interval, minutes(10));
  EXPECT_EQ(ServerTexts(net->dns_servers), std::vector<std::string>{"192.0.2.54:53"});
  EXPECT_EQ(net->options.helo_name, "other.example.net");
  EXPECT_EQ(net->options.test_probe_address, "probe@example.com");
  // The global defaults are untouched too.
  EXPECT_TRUE(config.defaults.test_open_relay);
  EXPECT_EQ(config.defaults.timeout, seconds(15));
}

TEST(ConfigTest, AcceptsSeedIntegerSecondsTimeout) {
  const Config config =
      MustLoad(ParseConfig("global:\n  timeout: 12\ndomains:\n  - name: example.org\n    "
                           "timeout: \"30\"\n",
                           "inline"));
  EXPECT_EQ(config.defaults.timeout, seconds(12));
  ASSERT_EQ(config.domains.size(), 1u);
  EXPECT_EQ(config.domains[0].options.timeout, seconds(30));
}

TEST(ConfigTest, EmptyDomainListIsAllowed) {
  const Config config = MustLoad(ParseConfig("domains: []\n", "inline"));
  EXPECT_TRUE(config.domains.empty());
}

TEST(ConfigTest, DefaultJitterStaysBelowShortIntervals) {
  EXPECT_EQ(MustLoad(ParseConfig("global:\n  interval: 1m\ndomains: []\n", "inline")).jitter,
            seconds(6));
  EXPECT_EQ(MustLoad(ParseConfig("domains:\n  - name: example.org\n    interval: 20s\n", "inline"))
                .jitter,
            seconds(2));
  EXPECT_EQ(MustLoad(ParseConfig("global:\n  interval: 1h\ndomains: []\n", "inline")).jitter,
            seconds(30));
}

TEST(ConfigTest, BooleansAreWhatYamlCppAccepts) {
  for (const char* yes : {"true", "True", "TRUE", "yes", "on", "y"}) {
    const Config config = MustLoad(
        ParseConfig(std::string("global:\n  test_postmaster: ") + yes + "\ndomains: []\n", "b"));
    EXPECT_TRUE(config.defaults.test_postmaster) << yes;
  }
  for (const char* no : {"false", "no", "off", "N"}) {
    const Config config = MustLoad(
        ParseConfig(std::string("global:\n  test_postmaster: ") + no + "\ndomains: []\n", "b"));
    EXPECT_FALSE(config.defaults.test_postmaster) << no;
  }
  for (const char* bad : {"1", "0", "tRue", "enabled", "[true]"}) {
    EXPECT_FALSE(
        ParseConfig(std::string("global:\n  test_postmaster: ") + bad + "\ndomains: []\n", "b")
            .ok())
        << bad;
  }
}

TEST(ConfigTest, DnsServerForms) {
  for (const char* good : {"192.0.2.53", "192.0.2.53:5353", "2001:db8::53", "[2001:db8::53]",
                           "[2001:db8::53]:53", "[::1]:15353"}) {
    const auto result =
        ParseConfig(std::string("global:\n  dns_servers: [\"") + good + "\"]\ndomains: []\n", "d");
    EXPECT_TRUE(result.ok()) << good << ": " << ErrorOf(result);
  }
  for (const char* bad :
       {"ns1.example.net", "192.0.2.53:", "192.0.2.53:65536", "[192.0.2.53]", "[2001:db8::53",
        "[2001:db8::53]53", "192.0.2", "", "[::1]:x", "2001:db8::53:53:53:53:53:53"}) {
    const auto result =
        ParseConfig(std::string("global:\n  dns_servers: [\"") + bad + "\"]\ndomains: []\n", "d");
    EXPECT_FALSE(result.ok()) << bad;
  }
}

// Issue #18 item 4: /probe refuses internal networks unless the config allows them; scheduled
// checks deny nothing unless told; pinned options are /probe-settable option names.
TEST(ConfigTest, ProbeSectionAndDeniedNetworks) {
  const Config defaults = MustLoad(ParseConfig("domains: []\n", "c"));
  EXPECT_EQ(defaults.probe.denied_networks, DefaultProbeDeniedNetworks());
  EXPECT_TRUE(defaults.denied_networks.empty());
  EXPECT_TRUE(defaults.probe.pinned_options.empty());
  const Config set =
      MustLoad(ParseConfig("global:\n"
                           "  denied_networks: [\"10.0.0.0/8\", \"fc00::/7\"]\n"
                           "probe:\n"
                           "  denied_networks: []\n"
                           "  pinned_options: [helo_name, test_probe_address]\n"
                           "domains: []\n",
                           "c"));
  EXPECT_TRUE(set.probe.denied_networks.empty());
  ASSERT_EQ(set.denied_networks.size(), 2u);
  EXPECT_EQ(set.denied_networks[1].ToString(), "fc00::/7");
  EXPECT_EQ(set.probe.pinned_options,
            (std::vector<std::string>{"helo_name", "test_probe_address"}));
  EXPECT_EQ(ErrorOf(ParseConfig("probe:\n  denied_networks: [\"10.0.0.1/8\"]\ndomains: []\n", "c")),
            "c:2:21: denied_networks entry \"10.0.0.1/8\" has bits set past its prefix length");
  EXPECT_EQ(ErrorOf(ParseConfig("probe:\n  pinned_options: [port]\ndomains: []\n", "c")),
            "c:2:20: pinned_options entry \"port\" is not an option /probe can set");
  EXPECT_EQ(ErrorOf(ParseConfig("probe: []\ndomains: []\n", "c")),
            "c:1:8: \"probe:\" must be a mapping, got a list");
  EXPECT_EQ(ErrorOf(ParseConfig("probe:\n  denied_network: []\ndomains: []\n", "c")),
            "c:2:3: unknown key \"denied_network\" under \"probe:\"; did you mean "
            "\"denied_networks\"?");
}

// /probe restricted to the configured domains and to domain patterns (issue #18).
TEST(ConfigTest, ProbeDomainRestrictions) {
  const Config open = MustLoad(ParseConfig("domains: []\n", "c"));
  EXPECT_TRUE(ProbeAllowsDomain(open.probe, "anything.example", false));
  const Config set = MustLoad(ParseConfig("probe:\n"
                                          "  only_configured_domains: true\n"
                                          "  allowed_domains: [Example.ORG., \"*.example.net\"]\n"
                                          "domains: []\n",
                                          "c"));
  EXPECT_TRUE(set.probe.only_configured_domains);
  EXPECT_EQ(set.probe.allowed_domains,
            (std::vector<std::string>{"example.org", "*.example.net"}));
  EXPECT_TRUE(ProbeAllowsDomain(set.probe, "configured.example", true));
  EXPECT_FALSE(ProbeAllowsDomain(set.probe, "other.example", false));
  EXPECT_TRUE(ProbeAllowsDomain(set.probe, "example.org", false));
  EXPECT_FALSE(ProbeAllowsDomain(set.probe, "sub.example.org", false));  // exact entry
  EXPECT_TRUE(ProbeAllowsDomain(set.probe, "a.b.example.net", false));
  EXPECT_FALSE(ProbeAllowsDomain(set.probe, "example.net", false));      // below it only
  EXPECT_FALSE(ProbeAllowsDomain(set.probe, "badexample.net", false));   // a label boundary
  ProbeConfig patterns_only;
  patterns_only.allowed_domains = {"*.example.net"};
  EXPECT_FALSE(ProbeAllowsDomain(patterns_only, "configured.example", true));
  EXPECT_EQ(ErrorOf(ParseConfig("probe:\n  allowed_domains: [\"*example.net\"]\ndomains: []\n",
                                "c")),
            "c:2:21: allowed_domains entries must be a domain or *.domain, got \"*example.net\"");
  EXPECT_EQ(ErrorOf(ParseConfig("probe:\n  only_configured_domains: sometimes\ndomains: []\n",
                                "c")),
            "c:2:28: only_configured_domains must be true or false, got \"sometimes\"");
}

// #17: the fleet /metrics' optional series, off unless asked for.
TEST(ConfigTest, MetricsSection) {
  const Config none = MustLoad(ParseConfig("domains: []\n", "c"));
  EXPECT_EQ(none.metrics, MetricsDetail{});
  EXPECT_FALSE(none.metrics.extensions);
  EXPECT_FALSE(none.metrics.phase_durations);
  const Config both = MustLoad(ParseConfig(
      "metrics:\n  extensions: true\n  phase_durations: yes\ndomains: []\n", "c"));
  EXPECT_EQ(both.metrics, MetricsDetail::Full());
  EXPECT_EQ(ErrorOf(ParseConfig("metrics:\n  extension: true\ndomains: []\n", "c")),
            "c:2:3: unknown key \"extension\" under \"metrics:\"; did you mean \"extensions\"?");
  EXPECT_EQ(ErrorOf(ParseConfig("metrics:\n  phase_durations: [1]\ndomains: []\n", "c")),
            "c:2:20: phase_durations must be true or false, got a list");
  EXPECT_EQ(ErrorOf(ParseConfig("metrics: true\ndomains: []\n", "c")),
            "c:1:10: \"metrics:\" must be a mapping, got \"true\"");
}

TEST(ConfigTest, ExampleFileLoads) {
  const auto result =
      LoadConfigFile(std::string(SMTP_EXPORTER_SOURCE_DIR) + "/examples/smtp_exporter.yml");
  const Config config = MustLoad(result);
  EXPECT_EQ(config.defaults.helo_name, "mx-probe.example.net");
  EXPECT_FALSE(config.domains.empty());
  EXPECT_EQ(config.metrics, MetricsDetail{});
  EXPECT_TRUE(config.defaults.submission.empty());  // off unless a domain asks
  EXPECT_EQ(config.domains.back().options.submission, (std::vector<std::uint16_t>{587, 465}));
  EXPECT_EQ(config.domains.back().options.submission_host, "smtp.example.net");
}

TEST(ConfigTest, MissingFileIsAnError) {
  const std::string path = TestdataDir() + "/does-not-exist.yml";
  EXPECT_EQ(ErrorOf(LoadConfigFile(path)), path + ": cannot open: No such file or directory");
  EXPECT_EQ(ErrorOf(LoadConfigFile(TestdataDir())),
            TestdataDir() + ": cannot read: it is a directory");
}

TEST(ConfigTest, GarbageNeverThrows) {
  std::vector<std::string> inputs = {
      std::string(100000, '['),
      std::string(100000, '{'),
      std::string(","),
      std::string(",a: 1\n"),
      std::string("domains: &a [*a]\n"),
      std::string("global: &g {timeout: *g}\ndomains: []\n"),
      std::string("domains:\n  - name: example.org\n    ? [a, b]\n    : c\n"),
      std::string("\xff\xfe\x00\x01domains: []", 15),
      std::string("domains: [\"\\x00\"]\n"),
      std::string("global:\n  helo_name: \"a\\x00b.example.net\"\ndomains: []\n"),
      std::string("%YAML 9.9\n---\ndomains: []\n"),
      std::string("!!binary AAAA\n"),
      std::string("domains:\n  - name: !!map {}\n"),
  };
  std::mt19937 random(20240601);  // fixed seed: reproducible
  std::uniform_int_distribution<int> byte(0, 255);
  for (int i = 0; i < 300; ++i) {
    std::string text(static_cast<std::size_t>(random() % 512), '\0');
    for (char& c : text) {
      c = static_cast<char>(byte(random));
    }
    inputs.push_back(std::move(text));
  }
  // Mutations of a valid file reach deeper than pure noise.
  const std::string base =
      "global:\n  interval: 5m\n  timeout: 12s\n  dns_servers: [\"192.0.2.53\"]\n"
      "domains:\n  - name: example.org\n  - {name: example.net, port: 25}\n";
  const std::string alphabet = ":-[]{}\"'&*!|>#,?\n\t 0az.@%\\";
  for (int i = 0; i < 2000; ++i) {
    std::string text = base;
    for (int edits = 1 + static_cast<int>(random() % 4); edits > 0; --edits) {
      const std::size_t at = random() % text.size();
      text[at] = alphabet[random() % alphabet.size()];
    }
    inputs.push_back(std::move(text));
  }
  for (const std::string& input : inputs) {
    EXPECT_NO_THROW({
      const auto result = ParseConfig(input, "garbage");
      if (!result.ok()) {
        EXPECT_TRUE(result.error().message.starts_with("garbage:")) << result.error().message;
        EXPECT_EQ(result.error().message.find('\n'), std::string::npos) << result.error().message;
      }
    });
  }
}

}  // namespace
}  // namespace smtp_exporter
