#include "tests/integration/lab_environment.h"

#include <gmock/gmock.h>

#include "tests/support/lab.h"

namespace smtp_exporter::testing {

void LabEnvironment::SetUp() {
  // A fixed directory, so that servers left behind by a crashed run (recorded there by PID)
  // are stopped before this run starts its own.
  state_dir_ = "/tmp/smtpx-integration-lab";
  const std::string lab = SourceDir() + "/tests/lab/";
  RunCommand(lab + "responder.sh stop " + state_dir_);
  // Exim and aiosmtpd are started by their own suites (other_mta_test.cc); a crashed run may
  // have left them behind.
  RunCommand(lab + "exim.sh stop " + state_dir_);
  RunCommand(lab + "aiosmtpd.sh stop " + state_dir_);
  RunCommand(lab + "mta_sts.sh stop " + state_dir_);
  RunCommand(lab + "postfix.sh stop " + state_dir_);
  RunCommand(lab + "unbound.sh stop " + state_dir_);
  RunCommand(lab + "dns.sh stop " + state_dir_);
  RunCommand("rm -rf '" + state_dir_ + "' && mkdir -p '" + state_dir_ + "'");
  const auto dns = RunCommand(lab + "dns.sh start " + state_dir_ + " " + std::to_string(kDnsPort));
  ASSERT_EQ(dns.exit_code, 0) << "could not start the Knot lab:\n" << dns.output;
  const auto resolver =
      RunCommand(lab + "unbound.sh start " + state_dir_ + " " + std::to_string(kResolverPort));
  ASSERT_EQ(resolver.exit_code, 0) << "could not start the validating resolver:\n"
                                   << resolver.output;
  const auto smtp =
      RunCommand(lab + "postfix.sh start " + state_dir_ + " " + std::to_string(kSmtpPort));
  ASSERT_EQ(smtp.exit_code, 0) << "could not start the Postfix lab:\n" << smtp.output;
  const auto responder =
      RunCommand(lab + "responder.sh start " + state_dir_ + " " + std::to_string(kSmtpPort));
  ASSERT_EQ(responder.exit_code, 0) << "could not start the scripted responder:\n"
                                    << responder.output;
  const auto mta_sts =
      RunCommand(lab + "mta_sts.sh start " + state_dir_ + " " + std::to_string(kMtaStsPort));
  ASSERT_EQ(mta_sts.exit_code, 0) << "could not start the MTA-STS policy server:\n"
                                  << mta_sts.output;
}

void LabEnvironment::TearDown() {
  // After every test: no session reached DATA, so Postfix never received a message. Postfix
  // logs per-command counts when a client disconnects ("... mail=2 rcpt=3 rset=3 quit=1"), and
  // cleanup/qmgr log "message-id=" / "nrcpt=" for every message it accepts.
  const std::string log = ReadFile(state_dir_ + "/postfix/maillog");
  EXPECT_THAT(log, ::testing::HasSubstr("disconnect from"));
  EXPECT_THAT(log, ::testing::Not(::testing::HasSubstr(" data=")));
  EXPECT_THAT(log, ::testing::Not(::testing::HasSubstr("message-id=")));
  EXPECT_THAT(log, ::testing::Not(::testing::HasSubstr("nrcpt=")));

  // The postscreen-like responder (127.0.0.15) marks a client that talks before the greeting
  // ends; ours never may (RFC 5321 §4.3.1).
  const std::string responder_log = ReadFile(state_dir_ + "/responder/responder.log");
  EXPECT_THAT(responder_log, ::testing::Not(::testing::HasSubstr("EARLY-TALKER")));

  const std::string lab = SourceDir() + "/tests/lab/";
  const auto mta_sts = RunCommand(lab + "mta_sts.sh stop " + state_dir_);
  EXPECT_EQ(mta_sts.exit_code, 0) << mta_sts.output;
  const auto responder = RunCommand(lab + "responder.sh stop " + state_dir_);
  EXPECT_EQ(responder.exit_code, 0) << responder.output;
  const auto smtp = RunCommand(lab + "postfix.sh stop " + state_dir_);
  EXPECT_EQ(smtp.exit_code, 0) << smtp.output;
  const auto resolver = RunCommand(lab + "unbound.sh stop " + state_dir_);
  EXPECT_EQ(resolver.exit_code, 0) << resolver.output;
  const auto dns = RunCommand(lab + "dns.sh stop " + state_dir_);
  EXPECT_EQ(dns.exit_code, 0) << dns.output;
  RunCommand("rm -rf '" + state_dir_ + "'");
}

std::string LabEnvironment::DaemonConfig(const std::vector<std::string>& domains,
                                         const std::string& interval, int concurrency) {
  std::string yaml = "global:\n"
                     "  interval: " + interval + "\n"
                     "  jitter: 1s\n"
                     "  concurrency: " + std::to_string(concurrency) + "\n"
                     "  timeout: 5s\n"
                     "  helo_name: probe.lab.test\n"
                     "  dns_servers: [\"" + DnsServer() + "\"]\n"
                     "  port: " + std::to_string(kSmtpPort) + "\n"
                     "  test_mta_sts: false\n"
                     "  test_tls_rpt: false\n"
                     // The lab is on loopback, which /probe refuses by default.
                     "probe:\n"
                     "  denied_networks: []\n"
                     "domains:\n";
  for (const auto& domain : domains) yaml += "  - name: " + domain + "\n";
  return yaml;
}

std::string LabEnvironment::PolicyFlags() {
  return " --test-mta-sts=true --test-tls-rpt=true --mta-sts-port " +
         std::to_string(kMtaStsPort) + " --mta-sts-ca-file " + state_dir_ +
         "/mta_sts/tls/ca.crt ";
}

CommandResult RunLabCheck(const std::string& domain, const std::string& extra_flags) {
  return RunCommand(std::string(SMTP_EXPORTER_BINARY) + " check " + domain + " --dns-servers " +
                    LabEnvironment::DnsServer() + " --port " + std::to_string(kSmtpPort) +
                    " --helo-name probe.lab.test --timeout 5s --format json"
                    " --test-mta-sts=false --test-tls-rpt=false " + extra_flags +
                    " 2>/dev/null");
}

std::set<std::string> NonOkFindings(const nlohmann::json& doc) {
  std::set<std::string> seen;
  for (const auto& finding : doc["findings"]) {
    if (finding["severity"] != "ok") {
      seen.insert(finding["code"].get<std::string>() + ":" +
                  finding["severity"].get<std::string>());
    }
  }
  return seen;
}

std::vector<std::string> TransactionVerdicts(const nlohmann::json& doc) {
  std::vector<std::string> verdicts;
  if (!doc.contains("endpoints")) {
    return verdicts;
  }
  for (const auto& endpoint : doc["endpoints"]) {
    if (!endpoint.contains("transactions")) {
      continue;
    }
    for (const char* probe : {"null_sender", "postmaster", "open_relay"}) {
      const auto& p = endpoint["transactions"][probe];
      verdicts.push_back(endpoint["ip"].get<std::string>() + " " + probe + " " +
                         p["outcome"].get<std::string>() + ": " + p["detail"].get<std::string>());
    }
  }
  return verdicts;
}

int PipelinedEndpoints(const nlohmann::json& doc) {
  int pipelined = 0;
  if (doc.contains("endpoints")) {
    for (const auto& endpoint : doc["endpoints"]) {
      if (endpoint.contains("transactions") && endpoint["transactions"].contains("pipelined") &&
          endpoint["transactions"]["pipelined"].get<bool>()) {
        ++pipelined;
      }
    }
  }
  return pipelined;
}

void ExpectLockStepAgrees(const std::string& domain, const nlohmann::json& pipelined) {
  const auto run = RunLabCheck(domain, "--pipelining=false");
  ASSERT_TRUE(nlohmann::json::accept(run.output)) << run.output;
  const auto lock_step = nlohmann::json::parse(run.output);
  EXPECT_EQ(PipelinedEndpoints(lock_step), 0);
  EXPECT_EQ(NonOkFindings(lock_step), NonOkFindings(pipelined)) << "lock-step";
  EXPECT_EQ(TransactionVerdicts(lock_step), TransactionVerdicts(pipelined)) << "lock-step";
}

}  // namespace smtp_exporter::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new smtp_exporter::testing::LabEnvironment);
  return RUN_ALL_TESTS();
}
