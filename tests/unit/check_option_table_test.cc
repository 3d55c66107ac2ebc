// The option table: every CheckOptions field is reachable through it, the YAML config and the
// `check` flags accept exactly the same values, and docs/options.md is generated from it.
#include "config/check_option_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "config/config.h"
#include "exporter/cmd/check_command.h"
#include "tests/support/fake_resolver.h"
#include "tests/support/scripted_transport.h"

namespace smtp_exporter {
namespace {

using ::testing::HasSubstr;

struct Sample {
  std::string good;              // a valid value other than the default
  std::vector<std::string> bad;  // values every front-end must refuse
};

Sample SampleFor(const CheckOptionSpec& spec) {
  switch (spec.type) {
    case CheckOptionType::kDuration:
      return {"20s", {"0", "500ms", "6m", "fast", "", "-3s"}};
    case CheckOptionType::kBool:
      return {spec.default_text == "false" ? "true" : "false", {"1", "0", "tRue", "maybe", ""}};
    case CheckOptionType::kHostName:
      return {"probe.example.net", {"mx probe.example.net", "-bad.example", ""}};
    case CheckOptionType::kMailAddress:
      return {"relay-test@example.net", {"no-at-sign", "a@", ""}};
    case CheckOptionType::kPort:
      return {"2525", {"0", "65536", "http", "", "-1"}};
    case CheckOptionType::kFilePath:
      return {"/etc/lab/ca.pem", {"", std::string(4097, 'a')}};
    case CheckOptionType::kSubmissionPorts:
      return {"587,465", {"25", "587,587", "587,", ",465", "smtp", "2525,587", "-587"}};
  }
  return {};
}

TEST(CheckOptionTableTest, EveryOptionChangesItsField) {
  const CheckOptions defaults;
  for (const CheckOptionSpec& spec : CheckOptionSpecs()) {
    CheckOptions options;
    EXPECT_TRUE(SetCheckOption(spec, SampleFor(spec).good, options).ok()) << spec.key;
    EXPECT_NE(options, defaults) << spec.key << " reached no field";
    EXPECT_EQ(FindCheckOption(spec.key), &spec);
    EXPECT_EQ(FindCheckOption(spec.flag, /*by_flag=*/true), &spec);
  }
  // The seed's six run options, by their happyDomain names, plus the port.
  std::vector<std::string> seed;
  for (const CheckOptionSpec& spec : CheckOptionSpecs()) {
    if (spec.seed_option) {
      seed.emplace_back(spec.key);
    }
  }
  EXPECT_THAT(seed, ::testing::UnorderedElementsAre("timeout", "helo_name", "test_null_sender",
                                                    "test_postmaster", "test_open_relay",
                                                    "test_probe_address"));
}

TEST(CheckOptionTableTest, BadValuesLeaveTheOptionsUnchanged) {
  for (const CheckOptionSpec& spec : CheckOptionSpecs()) {
    for (const std::string& bad : SampleFor(spec).bad) {
      CheckOptions options;
      const Status set = SetCheckOption(spec, bad, options);
      ASSERT_FALSE(set.ok()) << spec.key << "=" << bad;
      EXPECT_EQ(set.error().code, ErrorCode::kInvalidArgument);
      EXPECT_FALSE(set.message().empty());
      EXPECT_EQ(options.timeout, CheckOptions{}.timeout);
      EXPECT_EQ(options.port, CheckOptions{}.port);
      EXPECT_TRUE(options.test_open_relay);
    }
  }
}

// A YAML config and the `check` command agree on every sample value.
TEST(CheckOptionTableTest, YamlAndCliAcceptTheSameValues) {
  for (const CheckOptionSpec& spec : CheckOptionSpecs()) {
    const Sample sample = SampleFor(spec);
    std::vector<std::string> values = sample.bad;
    values.push_back(sample.good);
    for (const std::string& value : values) {
      const bool table_ok = [&] {
        CheckOptions options;
        return SetCheckOption(spec, value, options).ok();
      }();
      const auto config = ParseConfig(
          "global:\n  " + std::string(spec.key) + ": \"" + value + "\"\ndomains: []\n", "t.yml");
      EXPECT_EQ(config.ok(), table_ok) << spec.key << "=" << value;
      // The command refuses a bad flag before any lookup: it never needs the resolver.
      std::ostringstream out;
      std::ostringstream err;
      testing::ScriptedTransportFactory transports;
      testing::FakeClock clock;
      const CheckDependencies deps{transports,
                                   clock,
                                   [](const ResolverOptions&) -> Result<std::unique_ptr<Resolver>> {
                                     return Error{ErrorCode::kInternal, "no resolver in this test"};
                                   },
                                   {}};
      const int code = RunCheckCommand({"example.org", "--" + std::string(spec.flag) + "=" + value},
                                       deps, out, err);
      if (table_ok) {
        EXPECT_THAT(err.str(), HasSubstr("no resolver in this test")) << spec.flag << "=" << value;
      } else {
        EXPECT_EQ(code, 3) << spec.flag << "=" << value;
        EXPECT_THAT(err.str(), HasSubstr("--" + std::string(spec.flag) + " ")) << value;
      }
    }
  }
}

TEST(CheckOptionTableTest, OptionsMarkdownMatchesDocs) {
  const std::string path = std::string(SMTP_EXPORTER_SOURCE_DIR) + "/docs/options.md";
  const std::string expected = RenderOptionsMarkdown();
  if (std::getenv("SMTP_EXPORTER_REGENERATE_DOCS") != nullptr) {
    std::ofstream(path, std::ios::binary) << expected;
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream actual;
  actual << in.rdbuf();
  EXPECT_TRUE(actual.str() == expected)
      << path << " is out of date. Regenerate it with\n"
      << "  SMTP_EXPORTER_REGENERATE_DOCS=1 unit_tests --gtest_filter='*OptionsMarkdown*'";
  for (const CheckOptionSpec& spec : CheckOptionSpecs()) {
    EXPECT_THAT(expected, HasSubstr("`--" + std::string(spec.flag) + "`"));
  }
}

}  // namespace
}  // namespace smtp_exporter

namespace smtp_exporter {
namespace {

// RFC 8314's two submission ports, as a YAML list or the flag's text; anything else is refused,
// so a /probe parameter cannot point the exporter at another service.
TEST(CheckOptionTableTest, SubmissionPortsReadAsAListOrText) {
  const auto config = ParseConfig(
      "domains:\n  - name: example.org\n    submission: [465, 587]\n"
      "    submission_host: Mail.Example.org.\n  - name: example.net\n    submission: \"587\"\n",
      "t.yml");
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_EQ(config.value().domains.at(0).options.submission,
            (std::vector<std::uint16_t>{465, 587}));
  EXPECT_EQ(config.value().domains.at(0).options.submission_host, "mail.example.org");
  EXPECT_EQ(config.value().domains.at(1).options.submission, (std::vector<std::uint16_t>{587}));
  EXPECT_TRUE(CheckOptions{}.submission.empty());  // off by default

  const auto bad =
      ParseConfig("domains:\n  - name: example.org\n    submission: [587, 25]\n", "t.yml");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("587 and/or 465"));
  EXPECT_FALSE(
      ParseConfig("domains:\n  - name: example.org\n    submission: [[587]]\n", "t.yml").ok());

  // Empty means off, and the option's text reads back as what it was.
  const CheckOptionSpec& spec = *FindCheckOption("submission");
  CheckOptions options;
  ASSERT_TRUE(SetCheckOption(spec, "587, 465", options).ok());
  EXPECT_EQ(PortListText(options.submission), "587,465");
  ASSERT_TRUE(SetCheckOption(spec, "", options).ok());
  EXPECT_TRUE(options.submission.empty());
  EXPECT_EQ(PortListText(options.submission), "");
}

}  // namespace
}  // namespace smtp_exporter
