// --shard=i/n: parsing, the FNV-1a hash behind it, the partition it makes, and the daemon
// applying it at start-up and on reload while /probe still serves any domain.
#include "config/shard.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>
#include <map>

#include "exporter/daemon/app.h"
#include "tests/support/in_process_exporter.h"
#include "tests/support/lab.h"

namespace smtp_exporter {
namespace {

using ::testing::HasSubstr;

Shard MustParse(const std::string& text) {
  Result<Shard> parsed = ParseShard(text);
  EXPECT_TRUE(parsed.ok()) << parsed.message();
  return parsed.ok() ? parsed.value() : Shard{};
}

std::string ParseError(const std::string& text) {
  Result<Shard> parsed = ParseShard(text);
  EXPECT_FALSE(parsed.ok()) << text << " was accepted";
  return parsed.message();
}

TEST(ShardTest, ParsesZeroBasedIndexOverCount) {
  EXPECT_EQ(MustParse("0/1"), (Shard{0, 1}));
  EXPECT_EQ(MustParse("0/3"), (Shard{0, 3}));
  EXPECT_EQ(MustParse("2/3"), (Shard{2, 3}));
  EXPECT_EQ(MustParse("4095/4096"), (Shard{4095, 4096}));
  EXPECT_EQ(ShardName(Shard{1, 3}), "1/3");
}

TEST(ShardTest, RejectsBadShardsWithAClearMessage) {
  EXPECT_THAT(ParseError("3/3"), HasSubstr("i must be below n"));
  EXPECT_THAT(ParseError("0/0"), HasSubstr("n must be between 1 and 4096"));
  EXPECT_THAT(ParseError("0/4097"), HasSubstr("n must be between 1 and 4096"));
  EXPECT_THAT(ParseError("1"), HasSubstr("is not i/n"));
  EXPECT_THAT(ParseError(""), HasSubstr("is not i/n"));
  for (const char* bad : {"-1/3", "+1/3", "1 /3", "1/ 3", "a/3", "1/3/4", "/3", "1/", "0x1/3",
                          "99999999999/3", "1.0/3"}) {
    EXPECT_THAT(ParseError(bad), HasSubstr("--shard=0/3")) << bad;
  }
  // Every message shows valid examples, so the operator can fix the flag at once.
  EXPECT_THAT(ParseError("3/3"), HasSubstr("--shard=0/3, 1/3 and 2/3"));
}

// The published FNV-1a 64 test vectors: the hash is the standard one, not a look-alike.
TEST(ShardTest, HashIsFnv1a64) {
  EXPECT_EQ(ShardHash(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(ShardHash("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(ShardHash("foobar"), 0x85944171f73967e8ULL);
}

// Fixed expectations (computed independently with a few lines of Python): a change in the
// hash or in normalisation would silently move domains between replicas of different builds.
TEST(ShardTest, AssignmentIsStable) {
  const std::map<std::string, std::uint32_t> of_three = {
      {"example.org", 2},    {"example.net", 0},   {"example.com", 2},
      {"relay.lab.test", 0}, {"nopm.lab.test", 1}, {"good.lab.test", 2}};
  for (const auto& [name, index] : of_three) {
    for (std::uint32_t i = 0; i < 3; ++i) {
      EXPECT_EQ(InShard(Shard{i, 3}, name), i == index) << name << " in " << i << "/3";
    }
  }
  EXPECT_EQ(ShardHash("example.org"), 0xee7160631269bf51ULL);
  // The normalised name is hashed: case and the root dot do not move a domain.
  EXPECT_EQ(ShardHash("Example.ORG."), ShardHash("example.org"));
  EXPECT_TRUE(InShard(Shard{2, 3}, "EXAMPLE.org."));
}

TEST(ShardTest, EveryDomainIsInExactlyOneShard) {
  for (std::uint32_t count : {1u, 2u, 3u, 7u, 16u}) {
    std::vector<int> sizes(count, 0);
    for (int d = 0; d < 2000; ++d) {
      const std::string name = "d" + std::to_string(d) + ".example.org";
      int owners = 0;
      for (std::uint32_t i = 0; i < count; ++i) {
        if (InShard(Shard{i, count}, name)) {
          ++owners;
          ++sizes[i];
        }
      }
      ASSERT_EQ(owners, 1) << name << " over " << count << " shards";
    }
    // Roughly even: no replica gets less than half or more than twice its share.
    for (const int size : sizes) {
      EXPECT_GT(size, 2000 / static_cast<int>(count) / 2) << count;
      EXPECT_LT(size, 2000 / static_cast<int>(count) * 2) << count;
    }
  }
}

// The daemon: a replica schedules (and counts in smtp_exporter_domains) only its shard, keeps
// the shard across a reload, and /probe still checks a domain of another shard. DNS goes to
// 127.0.0.1:1, where nothing listens: no traffic leaves the machine.
class ShardedAppTest : public ::testing::Test {
 protected:
  void TearDown() override {
    testing::StopInProcessExporter(app_);
    if (!dir_.empty()) {
      testing::RunCommand("rm -rf '" + dir_ + "'");
    }
  }
  void WriteConfig(const std::vector<std::string>& domains) {
    std::ofstream out(config_path_, std::ios::trunc);
    out << "global:\n  dns_servers: ['127.0.0.1:1']\n  dns_timeout: 100ms\n"
           "  helo_name: probe.lab.test\ndomains:\n";
    for (const auto& d : domains) out << "  - name: " << d << "\n";
  }
  std::string Get(const std::string& path, int* status = nullptr) {
    httplib::Client client("127.0.0.1", app_->port());
    client.set_read_timeout(std::chrono::seconds(20));
    auto res = client.Get(path);
    if (status != nullptr) {
      *status = res ? res->status : -1;
    }
    return res ? res->body : "";
  }
  static std::vector<std::string> Names(int n) {
    std::vector<std::string> names;
    for (int i = 0; i < n; ++i) names.push_back("d" + std::to_string(i) + ".example.org");
    return names;
  }
  static std::size_t CountInShard(const Shard& shard, const std::vector<std::string>& names) {
    std::size_t n = 0;
    for (const auto& name : names) n += InShard(shard, name) ? 1u : 0u;
    return n;
  }

  std::string dir_ = testing::MakeTempDir("smtpx-shard");
  std::string config_path_ = dir_ + "/smtp_exporter.yml";
  std::unique_ptr<ExporterApp> app_;
};

TEST_F(ShardedAppTest, ChecksItsShardKeepsItOnReloadAndProbesAnyDomain) {
  const Shard shard{1, 3};
  WriteConfig(Names(30));
  AppOptions options;
  options.config_path = config_path_;
  options.listen_address = "127.0.0.1:0";
  options.shard = shard;
  app_ = testing::StartInProcessExporter(options);
  ASSERT_NE(app_, nullptr);

  const std::size_t mine = CountInShard(shard, Names(30));
  ASSERT_GT(mine, 0u);
  ASSERT_LT(mine, 30u);
  EXPECT_THAT(Get("/metrics"), HasSubstr("smtp_exporter_domains " + std::to_string(mine) + "\n"));

  // Reload with a longer list: the same shard of the new list.
  WriteConfig(Names(60));
  ASSERT_TRUE(app_->Reload().ok());
  const std::size_t mine_after = CountInShard(shard, Names(60));
  ASSERT_NE(mine_after, mine);
  EXPECT_THAT(Get("/metrics"),
              HasSubstr("smtp_exporter_domains " + std::to_string(mine_after) + "\n"));

  // /probe of a configured domain of another shard still runs a check.
  std::string other;
  for (const auto& name : Names(60)) {
    if (!InShard(shard, name)) {
      other = name;
      break;
    }
  }
  int status = 0;
  const std::string body = Get("/probe?domain=" + other, &status);
  EXPECT_EQ(status, 200) << body;
  EXPECT_THAT(body, HasSubstr("smtp_check_success{domain=\"" + other + "\"}"));
}

}  // namespace
}  // namespace smtp_exporter
