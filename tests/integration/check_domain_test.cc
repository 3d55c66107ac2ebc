// End to end: the smtp_exporter binary runs `check DOMAIN` against the lab's real Knot (DNS)
// and real Postfix (SMTP), and each lab domain must yield exactly the expected set of non-OK
// findings and exit code. This is the seed's "most common failures" table, row by row, plus
// every DNS posture case. Only the lab on loopback is contacted.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <httplib.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "exporter/check/findings.h"
#include "exporter/check/rules.h"
#include "tests/integration/lab_environment.h"
#include "tests/support/in_process_exporter.h"
#include "tests/support/lab.h"

namespace smtp_exporter {
namespace {

using testing::kSmtpPort;
using testing::LabEnvironment;
using testing::NonOkFindings;
using testing::RunLabCheck;
using testing::RunCommand;

struct Scenario {
  const char* domain;
  const char* status;
  int exit_code;
  std::set<std::string> findings;  // "code:severity" of every non-OK finding
};

// The lab Postfix announces itself as mx-good.lab.test on every listener, so variants reached
// under another MX name also show the (informational) banner mismatch; the lab is IPv4-only
// except for mx-good (127.0.0.2 + ::1).
const Scenario kScenarios[] = {
    {"good.lab.test", "ok", 0, {}},
    {"shared.lab.test", "ok", 0, {}},
    {"ipv6only.lab.test", "ok", 0, {}},
    {"v4only.lab.test", "info", 0, {"smtp.ipv6.missing:info"}},
    // The seed's failure table.
    {"cnamemx.lab.test", "crit", 2, {"smtp.mx.cname:crit"}},
    {"cnamechain.lab.test", "crit", 2, {"smtp.mx.cname:crit"}},
    {"notls.lab.test", "crit", 2,
     {"smtp.all_no_starttls:crit", "smtp.starttls.missing:warn", "smtp.banner.hostname_mismatch:info",
      "smtp.ipv6.missing:info"}},
    {"auth.lab.test", "crit", 2,
     {"smtp.auth.plaintext:crit", "smtp.banner.hostname_mismatch:info", "smtp.ipv6.missing:info"}},
    {"nopm.lab.test", "crit", 2,
     {"smtp.postmaster.rejected:crit", "smtp.banner.hostname_mismatch:info",
      "smtp.ipv6.missing:info"}},
    {"nonull.lab.test", "crit", 2,
     {"smtp.null_sender.rejected:crit", "smtp.banner.hostname_mismatch:info",
      "smtp.ipv6.missing:info"}},
    {"noptr.lab.test", "warn", 1,
     {"smtp.ptr.missing:warn", "smtp.banner.hostname_mismatch:info", "smtp.ipv6.missing:info"}},
    {"badptr.lab.test", "warn", 1,
     {"smtp.fcrdns.mismatch:warn", "smtp.banner.hostname_mismatch:info", "smtp.ipv6.missing:info"}},
    {"relay.lab.test", "crit", 2,
     {"smtp.open_relay:crit", "smtp.banner.hostname_mismatch:info", "smtp.ipv6.missing:info"}},
    // DNS posture.
    {"literal.lab.test", "crit", 2, {"smtp.mx.ip_literal:crit", "smtp.all_unreachable:crit"}},
    {"nullmx.lab.test", "info", 0, {"smtp.mx.null:info"}},
    {"nullmixed.lab.test", "crit", 2, {"smtp.mx.null_mixed:crit"}},
    {"implicit.lab.test", "warn", 1, {"smtp.mx.implicit:warn", "smtp.ipv6.missing:info"}},
    {"nomail.lab.test", "crit", 2, {"smtp.mx.missing:crit"}},
    {"nosuch.lab.test", "crit", 2, {"smtp.mx.missing:crit"}},
    {"dangling.lab.test", "crit", 2, {"smtp.mx.unresolvable:crit", "smtp.all_unreachable:crit"}},
    {"noaddr.lab.test", "crit", 2, {"smtp.mx.unresolvable:crit", "smtp.all_unreachable:crit"}},
    {"down.lab.test", "crit", 2,
     {"smtp.tcp.unreachable:crit", "smtp.all_unreachable:crit", "smtp.ipv6.missing:info"}},
    {"broken.test", "error", 3, {"smtp.dns.error:error"}},
    // Behaviours Postfix cannot produce, from the scripted responder (tests/lab/responder.py).
    {"helo.lab.test", "crit", 2,
     {"smtp.ehlo.helo_fallback:warn", "smtp.starttls.missing:warn", "smtp.all_no_starttls:crit",
      "smtp.ipv6.missing:info"}},
    {"greet554.lab.test", "crit", 2, {"smtp.banner.rejected:crit", "smtp.ipv6.missing:info"}},
    // 421 is temporary (RFC 5321 §4.2.1): WARN, never CRIT on its own (#15 item 3).
    {"greet421.lab.test", "warn", 1, {"smtp.banner.rejected:warn", "smtp.ipv6.missing:info"}},
    {"greylist.lab.test", "crit", 2,
     {"smtp.probe.temporary:info", "smtp.starttls.missing:warn", "smtp.all_no_starttls:crit",
      "smtp.ipv6.missing:info"}},
    {"tlsbroken.lab.test", "crit", 2,
     {"smtp.starttls.failed:crit", "smtp.all_no_starttls:crit", "smtp.ipv6.missing:info"}},
    {"endless.lab.test", "warn", 1, {"smtp.limits.exceeded:warn", "smtp.ipv6.missing:info"}},
    {"minimal.lab.test", "crit", 2,
     {"smtp.extension.missing:info", "smtp.starttls.missing:warn", "smtp.all_no_starttls:crit",
      "smtp.ipv6.missing:info"}},
    // A postscreen-style greeting with a pause: waited for, no early talking.
    {"pause.lab.test", "crit", 2,
     {"smtp.starttls.missing:warn", "smtp.all_no_starttls:crit", "smtp.ipv6.missing:info"}},
    // EHLO and HELO both answered 550: nothing after the greeting can be judged.
    {"helorej.lab.test", "crit", 2, {"smtp.ehlo.rejected:crit", "smtp.ipv6.missing:info"}},
    // 421 at the first MAIL, then the connection closes: no transaction probe has a verdict.
    {"shutdown.lab.test", "crit", 2,
     {"smtp.session.aborted:warn", "smtp.starttls.missing:warn", "smtp.all_no_starttls:crit",
      "smtp.ipv6.missing:info"}},
    // Every MAIL refused: the null sender is rejected, and the postmaster probe, whose own
    // sender is refused too, stays undecided in a live session (the relay probe passes: a
    // server that refuses the sender relays nothing for it).
    {"nosenders.lab.test", "crit", 2,
     {"smtp.null_sender.rejected:crit", "smtp.probe.inconclusive:info",
      "smtp.starttls.missing:warn", "smtp.all_no_starttls:crit", "smtp.ipv6.missing:info"}},
    // Reply lines ending in a bare LF: tolerated, reported.
    {"barelf.lab.test", "crit", 2,
     {"smtp.protocol.violation:info", "smtp.starttls.missing:warn", "smtp.all_no_starttls:crit",
      "smtp.ipv6.missing:info"}},
    // MX 10 greets 421 (temporary), MX 20 (the minimal responder) works: WARN, not CRIT.
    {"busy.lab.test", "crit", 2,
     {"smtp.banner.rejected:warn", "smtp.extension.missing:info", "smtp.starttls.missing:warn",
      "smtp.all_no_starttls:crit", "smtp.ipv6.missing:info"}},
};

class CheckDomainEndToEnd : public ::testing::TestWithParam<Scenario> {};

TEST_P(CheckDomainEndToEnd, ExactFindings) {
  const Scenario& scenario = GetParam();
  const auto run = RunLabCheck(scenario.domain);
  EXPECT_EQ(run.exit_code, scenario.exit_code) << run.output;
  ASSERT_TRUE(nlohmann::json::accept(run.output)) << run.output;
  const auto doc = nlohmann::json::parse(run.output);
  EXPECT_EQ(doc["status"], scenario.status);
  EXPECT_EQ(NonOkFindings(doc), scenario.findings);
  // RFC 2920 pipelining changes the number of round trips, never a verdict.
  testing::ExpectLockStepAgrees(scenario.domain, doc);
}

INSTANTIATE_TEST_SUITE_P(LabDomains, CheckDomainEndToEnd, ::testing::ValuesIn(kScenarios),
                         [](const ::testing::TestParamInfo<Scenario>& param_info) {
                           std::string name = param_info.param.domain;
                           for (char& c : name) {
                             if (c == '.') c = '_';
                           }
                           return name;
                         });

// Rows that need other flags than the table's, and whose message matters too.
struct FlaggedScenario {
  const char* name;  // test name
  const char* domain;
  const char* extra_flags;
  int exit_code;
  std::set<std::string> findings;  // "code:severity" of every non-OK finding
  const char* code;                // the finding whose message is checked
  const char* message_part;        // a part of that message
};

// DANE (RFC 7672): checked through the lab's validating Unbound, which validates the signed zone
// dnssec.test (the trust anchor is Knot's key) and not lab.test; every MX host is the good
// Postfix on 127.0.0.2 (IPv4 only).
constexpr char kDaneFlags[] = "--dns-servers 127.0.0.1:25354 --test-dane=true";

const FlaggedScenario kFlaggedScenarios[] = {
    // Without the null-sender probe, the postmaster probe's own sender is refused at MAIL:
    // inconclusive alone, and no null-sender finding at all (the probe is disabled).
    {"nosenders_without_null_sender_probe", "nosenders.lab.test", "--test-null-sender=false", 2,
     {"smtp.probe.inconclusive:info", "smtp.starttls.missing:warn", "smtp.all_no_starttls:crit",
      "smtp.ipv6.missing:info"},
     "smtp.probe.inconclusive",
     "our sender was refused at MAIL (553)"},
    // The postscreen-like pause (1.5 s) is longer than the greeting wait: not yet greeted is
    // WARN smtp.banner.delayed with the measured wait, not a refusal (#15 item 4).
    {"pause_longer_than_the_greeting_wait", "pause.lab.test", "--greeting-timeout 1s", 1,
     {"smtp.banner.delayed:warn", "smtp.ipv6.missing:info"},
     "smtp.banner.delayed",
     "no greeting within 1 s (waited 1"},
    // The greeting has its own wait: a pause longer than `timeout` is waited for, and the
    // commands after it still get their whole budget.
    {"pause_longer_than_the_timeout_is_waited_for", "pause.lab.test", "--timeout 1s", 2,
     {"smtp.starttls.missing:warn", "smtp.all_no_starttls:crit", "smtp.ipv6.missing:info"},
     "smtp.starttls.missing",
     "the EHLO reply does not list STARTTLS"},
    {"greet421_alone_says_so", "greet421.lab.test", "", 1,
     {"smtp.banner.rejected:warn", "smtp.ipv6.missing:info"},
     "smtp.banner.rejected",
     "a temporary refusal, and no other endpoint of the domain works"},
    {"shutdown_lists_the_probes_without_verdict", "shutdown.lab.test", "", 2,
     {"smtp.session.aborted:warn", "smtp.starttls.missing:warn", "smtp.all_no_starttls:crit",
      "smtp.ipv6.missing:info"},
     "smtp.session.aborted",
     "no verdict for: null sender, postmaster, open relay"},
    {"barelf_names_the_deviation", "barelf.lab.test", "", 2,
     {"smtp.protocol.violation:info", "smtp.starttls.missing:warn", "smtp.all_no_starttls:crit",
      "smtp.ipv6.missing:info"},
     "smtp.protocol.violation",
     "bare LF"},
    // TLSA 3 1 1 in the unsigned zone: published, but senders must ignore it.
    {"dane_tlsa_unsigned", "dane-unsigned.lab.test", kDaneFlags, 1,
     {"smtp.dane.not_validated:warn", "smtp.ipv6.missing:info"},
     "smtp.dane.not_validated",
     "_10025._tcp.mx-dane-unsigned.lab.test are published, but the answer is not "
     "DNSSEC-validated"},
    // Signed, no TLSA at the MX host (a validated NXDOMAIN).
    {"dane_no_tlsa", "notlsa.dnssec.test", kDaneFlags, 0,
     {"smtp.dane.no_tlsa:info", "smtp.ipv6.missing:info"},
     "smtp.dane.no_tlsa",
     "no TLSA record at _10025._tcp.mx-notlsa.dnssec.test (nxdomain)"},
    // Signed and validated, but usage PKIX-TA(0): not for SMTP.
    {"dane_unusable_usage", "pkix.dnssec.test", kDaneFlags, 1,
     {"smtp.dane.unusable_parameters:warn", "smtp.ipv6.missing:info"},
     "smtp.dane.unusable_parameters",
     "TLSA 0 0 1: PKIX-TA(0) is not for SMTP"},
    // A TLSA answer the resolver finds bogus: SERVFAIL, and DANE senders defer.
    {"dane_bogus_tlsa", "bogus.dnssec.test", kDaneFlags, 1,
     {"smtp.dane.lookup_failed:warn", "smtp.ipv6.missing:info"},
     "smtp.dane.lookup_failed",
     "TLSA _10025._tcp.mx-bogus.dnssec.test lookup failed: servfail"},
};

class CheckDomainFlagged : public ::testing::TestWithParam<FlaggedScenario> {};

TEST_P(CheckDomainFlagged, ExactFindingsAndMessage) {
  const FlaggedScenario& scenario = GetParam();
  const auto run = RunLabCheck(scenario.domain, scenario.extra_flags);
  EXPECT_EQ(run.exit_code, scenario.exit_code) << run.output;
  ASSERT_TRUE(nlohmann::json::accept(run.output)) << run.output;
  const auto doc = nlohmann::json::parse(run.output);
  EXPECT_EQ(NonOkFindings(doc), scenario.findings);
  std::string messages;
  for (const auto& finding : doc["findings"]) {
    if (finding["code"] == scenario.code && finding["severity"] != "ok") {
      messages += finding["message"].get<std::string>() + "\n";
    }
  }
  EXPECT_THAT(messages, ::testing::HasSubstr(scenario.message_part));
}

INSTANTIATE_TEST_SUITE_P(LabDomains, CheckDomainFlagged, ::testing::ValuesIn(kFlaggedScenarios),
                         [](const ::testing::TestParamInfo<FlaggedScenario>& param_info) {
                           return std::string(param_info.param.name);
                         });

// MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) rows: the lab's policy server (tests/lab/mta_sts.sh)
// with its own CA, reached through the lab DNS. Run once each with the policy checks on.
const FlaggedScenario kPolicyScenarios[] = {
    // The lab domains publish neither record: both are INFO, nothing is fetched.
    {"good_without_policies", "good.lab.test", "", 0,
     {"smtp.mta_sts.missing:info", "smtp.tls_rpt.missing:info"},
     "smtp.mta_sts.missing",
     "_mta-sts.good.lab.test has no v=STSv1 TXT record"},
    // An enforce policy over the MX, fetched with the certificate verified against the lab CA,
    // and a TLS-RPT record (split over two character-strings): nothing to report.
    {"mta_sts_good", "stsgood.lab.test", "", 0, {}, "", ""},
    {"mta_sts_nothing_listens", "stsnofetch.lab.test", "", 1,
     {"smtp.mta_sts.policy_unavailable:warn", "smtp.tls_rpt.missing:info"},
     "smtp.mta_sts.policy_unavailable",
     "(connect_failed): no connection to 127.0.0.86"},
    {"mta_sts_certificate_for_another_name", "stsbadcert.lab.test", "", 1,
     {"smtp.mta_sts.policy_unavailable:warn", "smtp.tls_rpt.missing:info"},
     "smtp.mta_sts.policy_unavailable",
     "(tls_failed): the certificate of mta-sts.stsbadcert.lab.test did not verify"},
    {"mta_sts_policy_is_a_web_page", "stsbadpolicy.lab.test", "", 1,
     {"smtp.mta_sts.policy_invalid:warn", "smtp.tls_rpt.missing:info"},
     "smtp.mta_sts.policy_invalid",
     "is not \"key: value\""},
    // A 301 to stsgood's (good) policy: RFC 8461 §3.3 forbids following it.
    {"mta_sts_redirect_not_followed", "stsredirect.lab.test", "", 1,
     {"smtp.mta_sts.policy_unavailable:warn", "smtp.tls_rpt.missing:info"},
     "smtp.mta_sts.policy_unavailable",
     "(http_status): the server answered HTTP 301 (a redirect; RFC 8461 §3.3 forbids following "
     "it), not 200"},
    // Enforce without the MX among its patterns: senders that honour it bounce the mail.
    {"mta_sts_mx_not_covered", "stsnotcovered.lab.test", "", 2,
     {"smtp.mta_sts.mx_not_covered:crit", "smtp.tls_rpt.missing:info"},
     "smtp.mta_sts.mx_not_covered",
     "the MX host mx-good.lab.test matches none of the enforce policy's mx patterns"},
    // Enforce over mx-notls (127.0.0.3, no STARTTLS).
    {"mta_sts_enforce_without_starttls", "stsnotls.lab.test", "", 2,
     {"smtp.mta_sts.starttls_missing:crit", "smtp.all_no_starttls:crit",
      "smtp.starttls.missing:warn", "smtp.banner.hostname_mismatch:info",
      "smtp.ipv6.missing:info", "smtp.tls_rpt.missing:info"},
     "smtp.mta_sts.starttls_missing",
     "STARTTLS is not offered but the MTA-STS policy is in enforce mode"},
    // Two v=STSv1 records; a TLS-RPT record with an ftp: URI.
    {"policy_records_broken", "policybad.lab.test", "", 1,
     {"smtp.mta_sts.record_invalid:warn", "smtp.tls_rpt.invalid:warn"},
     "smtp.tls_rpt.invalid",
     "is neither mailto: nor https:"},
};

class CheckDomainPolicy : public ::testing::TestWithParam<FlaggedScenario> {};

TEST_P(CheckDomainPolicy, ExactFindingsAndMessage) {
  const FlaggedScenario& scenario = GetParam();
  const auto run = RunLabCheck(scenario.domain, LabEnvironment::PolicyFlags());
  EXPECT_EQ(run.exit_code, scenario.exit_code) << run.output;
  ASSERT_TRUE(nlohmann::json::accept(run.output)) << run.output;
  const auto doc = nlohmann::json::parse(run.output);
  EXPECT_EQ(NonOkFindings(doc), scenario.findings);
  if (std::string(scenario.code).empty()) {
    // The good row: the policy was really fetched and read.
    EXPECT_EQ(doc["mta_sts"]["fetch_status"], "ok") << run.output;
    EXPECT_EQ(doc["mta_sts"]["policy"]["mode"], "enforce") << run.output;
    EXPECT_EQ(doc["tls_rpt"]["rua"][0], "mailto:tls-reports@lab.test");
    return;
  }
  std::string messages;
  for (const auto& finding : doc["findings"]) {
    if (finding["code"] == scenario.code && finding["severity"] != "ok") {
      messages += finding["message"].get<std::string>() + "\n";
    }
  }
  EXPECT_THAT(messages, ::testing::HasSubstr(scenario.message_part));
}

INSTANTIATE_TEST_SUITE_P(LabDomains, CheckDomainPolicy, ::testing::ValuesIn(kPolicyScenarios),
                         [](const ::testing::TestParamInfo<FlaggedScenario>& param_info) {
                           return std::string(param_info.param.name);
                         });


// DANE signed and validated: every smtp.dane code passes, and the AD bit read from the
// validating resolver is what says so. Without --test-dane nothing DANE is reported.
TEST(CheckDomainDane, SignedTlsaIsValidated) {
  const auto run = RunLabCheck("dane.dnssec.test", kDaneFlags);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  ASSERT_TRUE(nlohmann::json::accept(run.output)) << run.output;
  const auto doc = nlohmann::json::parse(run.output);
  EXPECT_EQ(NonOkFindings(doc), (std::set<std::string>{"smtp.ipv6.missing:info"}));
  std::set<std::string> dane_ok;
  for (const auto& finding : doc["findings"]) {
    if (finding["rule"] == "smtp.dane" && finding["severity"] == "ok") {
      dane_ok.insert(finding["code"].get<std::string>());
    }
  }
  EXPECT_EQ(dane_ok, (std::set<std::string>{"smtp.dane.lookup_failed", "smtp.dane.no_tlsa",
                                            "smtp.dane.not_validated",
                                            "smtp.dane.unusable_parameters"}));
  const auto& tlsa = doc["dns"]["mx_targets"][0]["tlsa"];
  EXPECT_EQ(tlsa["name"], "_10025._tcp.mx-dane.dnssec.test");
  EXPECT_EQ(tlsa["authenticated"], true);
  ASSERT_EQ(tlsa["records"].size(), 1u);
  EXPECT_EQ(tlsa["records"][0]["usage"], 3);
  EXPECT_EQ(tlsa["records"][0]["data_length"], 32);

  // The same check without the option: no TLSA lookup, no DANE finding.
  const auto off = RunLabCheck("dane.dnssec.test", "--dns-servers 127.0.0.1:25354");
  ASSERT_TRUE(nlohmann::json::accept(off.output)) << off.output;
  const auto off_doc = nlohmann::json::parse(off.output);
  EXPECT_FALSE(off_doc["dns"]["mx_targets"][0].contains("tlsa"));
  for (const auto& finding : off_doc["findings"]) {
    EXPECT_NE(finding["rule"], "smtp.dane") << finding.dump();
  }
}

// The daemon over the whole lab: after one scheduled round, /metrics carries for every domain
// of the table exactly its non-OK findings (smtp_finding series) and its status
// (smtp_domain_status), the same verdicts as `check`.
std::string LabelValue(const std::string& line, const std::string& name) {
  const std::string key = name + "=\"";
  const std::size_t begin = line.find(key);
  if (begin == std::string::npos) {
    return "";
  }
  const std::size_t value = begin + key.size();
  return line.substr(value, line.find('"', value) - value);
}

TEST(LabDaemon, MetricsShowTheTableForEveryDomain) {
  const std::string dir = testing::MakeTempDir("smtpx-labdaemon");
  std::vector<std::string> domains;
  for (const auto& scenario : kScenarios) domains.emplace_back(scenario.domain);
  // interval 20s: the first checks are spread over 20 s, not a minute.
  const std::string yaml = LabEnvironment::DaemonConfig(domains, "20s", 8);
  std::ofstream(dir + "/smtp_exporter.yml") << yaml;
  AppOptions options;
  options.config_path = dir + "/smtp_exporter.yml";
  options.listen_address = "127.0.0.1:0";
  const auto app = testing::StartInProcessExporter(options);
  ASSERT_NE(app, nullptr);
  httplib::Client client("127.0.0.1", app->port());
  client.set_read_timeout(std::chrono::seconds(10));

  std::string metrics;
  const auto all_checked = [&] {
    const auto res = client.Get("/metrics");
    if (!res || res->status != 200) {
      return false;
    }
    metrics = res->body;
    for (const auto& scenario : kScenarios) {
      if (metrics.find("smtp_domain_status{domain=\"" + std::string(scenario.domain) + "\"}") ==
          std::string::npos) {
        return false;
      }
    }
    return true;
  };
  const bool checked = testing::Eventually(all_checked, std::chrono::seconds(120));
  testing::StopInProcessExporter(app);
  testing::RunCommand("rm -rf '" + dir + "'");
  ASSERT_TRUE(checked) << "not every lab domain was checked within 120 s:\n" << metrics;

  const std::map<std::string, int> status_values = {
      {"ok", 0}, {"info", 1}, {"warn", 2}, {"crit", 3}, {"error", 4}};
  std::map<std::string, std::set<std::string>> findings;
  std::map<std::string, std::string> statuses;
  std::istringstream lines(metrics);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("smtp_finding{", 0) == 0) {
      findings[LabelValue(line, "domain")].insert(LabelValue(line, "code") + ":" +
                                                  LabelValue(line, "severity"));
    } else if (line.rfind("smtp_domain_status{", 0) == 0) {
      statuses[LabelValue(line, "domain")] = line.substr(line.rfind(' ') + 1);
    }
  }
  for (const auto& scenario : kScenarios) {
    EXPECT_EQ(findings[scenario.domain], scenario.findings) << scenario.domain;
    EXPECT_EQ(statuses[scenario.domain], std::to_string(status_values.at(scenario.status)))
        << scenario.domain;
  }
}

// The findings issue's done-when: every catalog code is produced by the real pipeline (binary,
// Knot, Postfix, responder) in at least one row above. smtp.ipv6.unreachable needs a network
// where IPv6 fails while IPv4 works, which loopback cannot give: the network-namespace lab
// covers it (NetnsWorld). smtp.ehlo.deferred (a 4yz to EHLO) comes from a real Exim with
// helo_verify_hosts whose DNS lookup defers: other_mta_test.cc, row ex-heloverify.lab.test.
// The posture drift codes compare two checks of the daemon, which a one-shot check never makes:
// storage_test.cc, StartTlsLostBetweenTwoChecksIsReportedAndSurvivesARestart.
// The submission codes (RFC 8314) come from aiosmtpd's listeners on ports 587 and 465:
// other_mta_test.cc, kSubmissionRows.
TEST(CheckDomainCoverage, EveryCatalogCodeHasALabRow) {
  std::set<std::string> covered = {
      "smtp.ipv6.unreachable",           "smtp.ehlo.deferred",
      "smtp.drift.starttls_lost",        "smtp.drift.changed",
      "smtp.submission.unreachable",     "smtp.submission.no_starttls",
      "smtp.submission.tls_failed",      "smtp.submission.plaintext_auth",
      "smtp.submission.auth_before_tls", "smtp.submission.no_auth"};
  for (const auto& scenario : kScenarios) {
    for (const auto& finding : scenario.findings) {
      covered.insert(finding.substr(0, finding.find(':')));
    }
  }
  for (const auto& scenario : kFlaggedScenarios) {
    for (const auto& finding : scenario.findings) {
      covered.insert(finding.substr(0, finding.find(':')));
    }
  }
  for (const auto& scenario : kPolicyScenarios) {
    for (const auto& finding : scenario.findings) {
      covered.insert(finding.substr(0, finding.find(':')));
    }
  }
  for (const auto& entry : FindingCatalog()) {
    const Rule* rule = RuleForCode(entry.code);
    if (rule != nullptr && !rule->default_enabled) {
      // Off in the exporter and the CLI (smtp.tls_quality needs a TLS checker's findings):
      // its unit tests cover it; the happyDomain checker mode's lab rows will.
      continue;
    }
    EXPECT_TRUE(covered.count(std::string(entry.code)) == 1)
        << entry.code << " is produced by no lab row";
  }
}

// Run as a monitoring plugin (no terminal: RunCommand captures stdout and stderr through a
// pipe), the text output has no colour and stderr no progress; both can be forced.
TEST(CheckDomainText, PlainWithoutATerminalColouredOnRequest) {
  const std::string command = std::string(SMTP_EXPORTER_BINARY) + " check good.lab.test" +
                              " --dns-servers " + LabEnvironment::DnsServer() + " --port " +
                              std::to_string(kSmtpPort) + " --helo-name probe.lab.test" +
                              " --test-mta-sts=false --test-tls-rpt=false";
  const auto plain = RunCommand(command + " 2>&1");
  EXPECT_EQ(plain.exit_code, 0) << plain.output;
  EXPECT_THAT(plain.output, ::testing::StartsWith("good.lab.test: OK"));
  EXPECT_EQ(plain.output.find('\x1b'), std::string::npos) << plain.output;
  EXPECT_THAT(plain.output, ::testing::Not(::testing::HasSubstr("probed ")));

  const auto coloured = RunCommand(command + " --color=always --progress=always 2>&1");
  EXPECT_EQ(coloured.exit_code, 0) << coloured.output;
  EXPECT_THAT(coloured.output, ::testing::HasSubstr("\x1b[32mOK\x1b[0m"));
  EXPECT_THAT(coloured.output,
              ::testing::HasSubstr("probed mx-good.lab.test [127.0.0.2]: connected"));
  EXPECT_THAT(coloured.output, ::testing::HasSubstr("probed mx-good.lab.test [::1]: connected"));
}

// The done-when of the DNS issue: the complete domain observation for a lab domain.
TEST(CheckDomainJson, CompleteObservationForTheGoodDomain) {
  const auto run = RunCommand(std::string(SMTP_EXPORTER_BINARY) +
                              " check good.lab.test --dns-servers " + LabEnvironment::DnsServer() +
                              " --port " + std::to_string(kSmtpPort) +
                              " --helo-name probe.lab.test --format json 2>/dev/null");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto doc = nlohmann::json::parse(run.output);
  EXPECT_EQ(doc["dns"]["mx_targets"][0]["host"], "mx-good.lab.test");
  EXPECT_EQ(doc["plan"]["endpoints"].size(), 2u);
  ASSERT_EQ(doc["endpoints"].size(), 2u);
  for (const auto& endpoint : doc["endpoints"]) {
    EXPECT_EQ(endpoint["starttls"]["ok"], true) << endpoint["ip"];
    EXPECT_EQ(endpoint["transactions"]["open_relay"]["outcome"], "rejected");
  }
  EXPECT_EQ(doc["endpoints"][1]["family"], "ipv6");
  for (const auto& reverse : doc["dns"]["reverse"]) {
    EXPECT_EQ(reverse["fcrdns_ok"], true) << reverse["ip"];
  }
}

}  // namespace
}  // namespace smtp_exporter
