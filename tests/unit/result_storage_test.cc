// The daemon's state on disk (ResultStorage): a written result reads back and is judged to the
// same findings; file names never leave the directory; every kind of bad file (truncated,
// corrupt, foreign, of another domain, oversized, too deeply nested, a symlink, a FIFO, a
// directory) is skipped with a reason and never crashes or hangs the reader; a file being
// written is never read as a result, even by a reader racing the writer; the directory is
// locked to one exporter; an unusable directory is an error at Open and a failing write an
// error value, never a crash.
#include "exporter/daemon/result_storage.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "exporter/check/check.h"
#include "probes/observation_json.h"
#include "tests/support/lab.h"
#include "tests/support/observations.h"

namespace smtp_exporter {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::HealthyEndpoint;
using ::testing::IsEmpty;
using testing::Mx;
using testing::Plan;
using testing::Reverse;
using ::testing::SizeIs;

// One MX, one IPv4 endpoint that relays for anyone: a result with a CRIT finding, so a round
// trip that lost data would show in the findings.
DomainObservation RelayObservation(const std::string& domain, double started_at = 1700000000) {
  DomainObservation obs;
  obs.domain = domain;
  obs.started_at_unix = started_at;
  obs.duration_seconds = 2.5;
  obs.dns.domain = domain;
  obs.dns.mx.status = DnsStatus::kOk;
  obs.dns.mx_targets = {Mx(10, ("mx1." + domain).c_str(), {"192.0.2.10"})};
  obs.dns.reverse = {Reverse("192.0.2.10", DnsStatus::kOk, {"mx1." + domain}, true)};
  Plan(&obs);
  obs.endpoints = {HealthyEndpoint(domain, "mx1." + domain, "192.0.2.10")};
  obs.endpoints[0].open_relay.outcome = ProbeOutcome::kAccepted;
  return obs;
}

CheckOptions Options() {
  CheckOptions options;
  options.helo_name = "probe.example.net";
  return options;
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

std::string ReadText(const std::string& path) { return testing::ReadFile(path); }

std::vector<std::string> FileNames(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class ResultStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/smtpx-storage-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    parent_ = dir_template;
    dir_ = parent_ + "/state";
    auto opened = ResultStorage::Open(dir_);
    ASSERT_TRUE(opened.ok()) << opened.message();
    storage_ = std::move(opened).value();
  }
  void TearDown() override {
    storage_.reset();
    std::filesystem::remove_all(parent_);
  }
  void Write(const std::string& domain, double started_at = 1700000000) {
    const Status written =
        storage_->Write(domain, Options(), RelayObservation(domain, started_at), nullptr,
                        1700000100);
    ASSERT_TRUE(written.ok()) << written.message();
  }

  std::string parent_;
  std::string dir_;
  std::unique_ptr<ResultStorage> storage_;
};

TEST(StoredResultFileNameTest, PlainNamesStayReadable) {
  EXPECT_EQ(StoredResultFileName("example.org"), "example.org.json");
  EXPECT_EQ(StoredResultFileName("mx-1.sub_x.example"), "mx-1.sub_x.example.json");
  EXPECT_EQ(DomainOfStoredResultFileName("example.org.json"), "example.org");
}

TEST(StoredResultFileNameTest, NoNameLeavesTheDirectoryOrHides) {
  const std::vector<std::string> hostile_names = {
      "../etc/passwd", "..",       ".",        "/abs",
      "a/b",           ".hidden",  "x\\y",     std::string("nul\0x", 5),
      "UPPER.example", "sp ace",   "per%cent", "\xff\xfe",
      "-leading",      "trailing."};
  for (const std::string& hostile : hostile_names) {
    const std::string name = StoredResultFileName(hostile);
    ASSERT_FALSE(name.empty()) << hostile;
    EXPECT_EQ(name.find('/'), std::string::npos) << name;
    EXPECT_EQ(name.find('\0'), std::string::npos) << name;
    EXPECT_NE(name.front(), '.') << name;
    EXPECT_TRUE(name.ends_with(".json")) << name;
    EXPECT_EQ(DomainOfStoredResultFileName(name), hostile) << name;
  }
  EXPECT_EQ(StoredResultFileName("../etc/passwd"), "%2E.%2Fetc%2Fpasswd.json");
  EXPECT_EQ(StoredResultFileName(""), "");
}

TEST(StoredResultFileNameTest, OnlyCanonicalNamesAreResultFiles) {
  for (const std::string& other : std::vector<std::string>{
           ".lock", ".tmp-AbC123", "example.org", ".json", "README", "%2e.json", "%2.json",
           "%.json", "%61.json", "..%2Fescape.json", "a%2fb.json", "x.json.bak", "Upper.json"}) {
    EXPECT_EQ(DomainOfStoredResultFileName(other), std::nullopt) << other;
  }
}

TEST(StoredResultFileNameTest, NamesTooLongForOneComponentAreNotStored) {
  // 250 bytes + ".json" is 255, NAME_MAX; one more does not fit.
  EXPECT_THAT(StoredResultFileName(std::string(250, 'a')), SizeIs(255));
  EXPECT_EQ(StoredResultFileName(std::string(251, 'a')), "");
}

TEST_F(ResultStorageTest, RoundTripGivesTheSameFindings) {
  const DomainObservation obs = RelayObservation("relay.example");
  const CheckResult original = EvaluateObservation(obs, Options());
  ASSERT_EQ(original.status, Severity::kCrit);  // the open relay: a round trip must keep it
  ASSERT_TRUE(storage_->Write("relay.example", Options(), obs, nullptr, 1700000100).ok());

  const LoadReport report = storage_->Load({"relay.example"});
  EXPECT_THAT(report.skipped, IsEmpty());
  ASSERT_THAT(report.results, SizeIs(1));
  const StoredResult& stored = report.results[0];
  EXPECT_EQ(stored.domain, "relay.example");
  EXPECT_EQ(stored.options, StoredOptionsJson(Options()));
  EXPECT_DOUBLE_EQ(stored.written_at_unix, 1700000100);
  EXPECT_DOUBLE_EQ(stored.observation.started_at_unix, 1700000000);
  EXPECT_DOUBLE_EQ(stored.observation.duration_seconds, 2.5);
  const CheckResult again = EvaluateObservation(stored.observation, Options());
  EXPECT_EQ(again.status, original.status);
  EXPECT_EQ(again.findings, original.findings);
  EXPECT_EQ(DumpJson(ToJson(stored.observation)), DumpJson(ToJson(obs)));

  // The file holds server banners: owner-only.
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/relay.example.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Nothing else is left behind by a write.
  EXPECT_THAT(FileNames(dir_), ElementsAre(".lock", "relay.example.json"));
}

// Drift detection survives a restart: the posture history is stored with the observation, and
// a file without one (older versions) reads back with none.
TEST_F(ResultStorageTest, ThePostureHistoryComesBackWithTheObservation) {
  DomainObservation obs = RelayObservation("relay.example", 1700000000);
  PostureHistory posture = AdvancePosture(nullptr, obs);
  obs.started_at_unix = 1700000600;
  ASSERT_FALSE(obs.endpoints.empty());
  obs.endpoints[0].announced_hostname = "renamed.example";
  posture = AdvancePosture(&posture, obs);
  ASSERT_THAT(posture.changes, SizeIs(1));
  ASSERT_TRUE(storage_->Write("relay.example", Options(), obs, &posture, 1700000700).ok());
  ASSERT_TRUE(storage_->Write("plain.example", Options(), RelayObservation("plain.example"),
                              nullptr, 1700000700)
                  .ok());

  const LoadReport report = storage_->Load({"plain.example", "relay.example"});
  EXPECT_THAT(report.skipped, IsEmpty());
  ASSERT_THAT(report.results, SizeIs(2));
  EXPECT_EQ(report.results[0].posture, std::nullopt);
  ASSERT_TRUE(report.results[1].posture.has_value());
  EXPECT_EQ(*report.results[1].posture, posture);

  // A broken posture is a broken file: skipped with the reason, never half-read.
  const std::string file = dir_ + "/relay.example.json";
  nlohmann::json doc = nlohmann::json::parse(ReadText(file));
  doc["posture"]["facts"] = "many";
  std::ofstream(file, std::ios::trunc) << doc.dump();
  const LoadReport broken = storage_->Load({"relay.example"});
  EXPECT_THAT(broken.results, IsEmpty());
  ASSERT_THAT(broken.skipped, SizeIs(1));
  EXPECT_THAT(broken.skipped[0], HasSubstr("posture does not read back"));
}

TEST_F(ResultStorageTest, OptionsTellDifferentProbesApart) {
  CheckOptions other = Options();
  other.test_open_relay = false;
  EXPECT_NE(StoredOptionsJson(other), StoredOptionsJson(Options()));
  other = Options();
  other.port = 2525;
  EXPECT_NE(StoredOptionsJson(other), StoredOptionsJson(Options()));
  EXPECT_EQ(StoredOptionsJson(Options())["timeout"], 12000);
}

TEST_F(ResultStorageTest, AWriteReplacesTheWholeFile) {
  Write("a.example", 1700000000);
  Write("a.example", 1700000600);
  const LoadReport report = storage_->Load({"a.example"});
  ASSERT_THAT(report.results, SizeIs(1));
  EXPECT_DOUBLE_EQ(report.results[0].observation.started_at_unix, 1700000600);
  EXPECT_THAT(FileNames(dir_), ElementsAre(".lock", "a.example.json"));
}

TEST_F(ResultStorageTest, OnlyRequestedDomainsAreLoaded) {
  Write("a.example");
  Write("b.example");
  const LoadReport report = storage_->Load({"b.example", "c.example"});
  ASSERT_THAT(report.results, SizeIs(1));
  EXPECT_EQ(report.results[0].domain, "b.example");
  EXPECT_THAT(report.skipped, IsEmpty());
}

TEST_F(ResultStorageTest, BadFilesAreSkippedWithAReason) {
  Write("good.example");
  const std::string good = ReadText(dir_ + "/good.example.json");
  ASSERT_FALSE(good.empty());
  nlohmann::json doc = nlohmann::json::parse(good);

  WriteText(dir_ + "/truncated.example.json", good.substr(0, good.size() / 2));
  WriteText(dir_ + "/empty.example.json", "");
  WriteText(dir_ + "/binary.example.json", std::string("\x00\xff\x7f{", 4));
  WriteText(dir_ + "/foreign.example.json", R"({"format":"something else","domain":"x"})");
  WriteText(dir_ + "/array.example.json", "[1,2,3]");
  nlohmann::json future = doc;
  future["format_version"] = 99;
  future["domain"] = "future.example";
  future["observation"]["domain"] = "future.example";
  WriteText(dir_ + "/future.example.json", future.dump());
  // A good file under another domain's name: the name decides which domain it may be.
  WriteText(dir_ + "/copied.example.json", good);
  nlohmann::json schema = doc;
  schema["domain"] = "schema.example";
  schema["observation"]["domain"] = "schema.example";
  schema["observation"]["schema_version"] = 999;
  WriteText(dir_ + "/schema.example.json", schema.dump());
  nlohmann::json mistyped = doc;
  mistyped["domain"] = "mistyped.example";
  mistyped["observation"]["domain"] = "mistyped.example";
  mistyped["observation"]["endpoints"] = "not an array";
  WriteText(dir_ + "/mistyped.example.json", mistyped.dump());
  WriteText(dir_ + "/deep.example.json", std::string(100000, '[') + std::string(100000, ']'));
  // Over the bound by one byte: valid JSON padding, so only the size can refuse it.
  WriteText(dir_ + "/huge.example.json",
            good + std::string(kMaxStoredResultBytes + 1 - good.size(), ' '));
  ASSERT_EQ(::symlink((dir_ + "/good.example.json").c_str(), (dir_ + "/link.example.json").c_str()),
            0);
  ASSERT_EQ(::mkfifo((dir_ + "/fifo.example.json").c_str(), 0600), 0);  // must not block
  std::filesystem::create_directory(dir_ + "/dir.example.json");
  WriteText(dir_ + "/README", "not ours\n");

  const std::set<std::string> domains = {
      "good.example",  "truncated.example", "empty.example",  "binary.example", "foreign.example",
      "array.example", "future.example",    "copied.example", "schema.example", "mistyped.example",
      "deep.example",  "huge.example",      "link.example",   "fifo.example",   "dir.example"};
  const LoadReport report = storage_->Load(domains);
  ASSERT_THAT(report.results, SizeIs(1));
  EXPECT_EQ(report.results[0].domain, "good.example");

  std::map<std::string, std::string> reasons;
  for (const std::string& line : report.skipped) {
    reasons[line.substr(0, line.find(':'))] = line;
  }
  EXPECT_THAT(reasons["truncated.example.json"], HasSubstr("not valid JSON"));
  EXPECT_THAT(reasons["empty.example.json"], HasSubstr("not valid JSON"));
  EXPECT_THAT(reasons["binary.example.json"], HasSubstr("not valid JSON"));
  EXPECT_THAT(reasons["foreign.example.json"], HasSubstr("not a stored result"));
  EXPECT_THAT(reasons["array.example.json"], HasSubstr("not a stored result"));
  EXPECT_THAT(reasons["future.example.json"], HasSubstr("unsupported format_version"));
  EXPECT_THAT(reasons["copied.example.json"], HasSubstr("not the domain of its file name"));
  EXPECT_THAT(reasons["schema.example.json"], HasSubstr("schema_version"));
  EXPECT_THAT(reasons["mistyped.example.json"], HasSubstr("endpoints"));
  EXPECT_THAT(reasons["deep.example.json"], HasSubstr("nested too deeply"));
  EXPECT_THAT(reasons["huge.example.json"], HasSubstr("larger than 4 MiB"));
  EXPECT_THAT(reasons["link.example.json"], HasSubstr("symbolic link"));
  EXPECT_THAT(reasons["fifo.example.json"], HasSubstr("not a regular file"));
  EXPECT_THAT(reasons["dir.example.json"], HasSubstr("not a regular file"));
  EXPECT_THAT(reasons["README"], HasSubstr("not a result file name"));
  EXPECT_THAT(report.skipped, SizeIs(15));
}

TEST_F(ResultStorageTest, HostileDomainNamesStayInsideTheDirectory) {
  Write("../escape.example");
  Write("sub/dir.example");
  EXPECT_FALSE(std::filesystem::exists(parent_ + "/escape.example.json"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/sub"));
  EXPECT_THAT(FileNames(dir_),
              ElementsAre("%2E.%2Fescape.example.json", ".lock", "sub%2Fdir.example.json"));
  const LoadReport report = storage_->Load({"../escape.example", "sub/dir.example"});
  EXPECT_THAT(report.results, SizeIs(2));
  // A planted file whose raw name would decode outside DIR is not a result file.
  WriteText(dir_ + "/..%2F..%2Fetc%2Fpasswd.json", ReadText(dir_ + "/sub%2Fdir.example.json"));
  const LoadReport planted = storage_->Load({"../../etc/passwd"});
  EXPECT_THAT(planted.results, IsEmpty());
}

TEST_F(ResultStorageTest, TemporaryFilesAreNeverResultsAndAreClearedAtOpen) {
  Write("a.example");
  // What a crash between write and rename leaves: a complete-looking result in a temp file.
  WriteText(dir_ + "/.tmp-Xy12Zq", ReadText(dir_ + "/a.example.json"));
  const LoadReport report = storage_->Load({"a.example"});
  EXPECT_THAT(report.results, SizeIs(1));
  EXPECT_THAT(report.skipped, IsEmpty());
  storage_.reset();
  auto reopened = ResultStorage::Open(dir_);
  ASSERT_TRUE(reopened.ok()) << reopened.message();
  EXPECT_THAT(FileNames(dir_), ElementsAre(".lock", "a.example.json"));
}

TEST_F(ResultStorageTest, AReaderRacingTheWriterSeesOnlyWholeResults) {
  Write("a.example", 1);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 2; i < 200; ++i) {
      EXPECT_TRUE(
          storage_->Write("a.example", Options(), RelayObservation("a.example", i), nullptr, i).ok());
    }
    done = true;
  });
  int loads = 0;
  int partial = 0;
  while (!done.load()) {
    const LoadReport report = storage_->Load({"a.example"});
    partial += report.results.size() != 1 || !report.skipped.empty();
    ++loads;
  }
  writer.join();
  EXPECT_EQ(partial, 0) << "of " << loads << " loads";
  EXPECT_GT(loads, 0);
  EXPECT_DOUBLE_EQ(storage_->Load({"a.example"}).results.at(0).observation.started_at_unix, 199);
}

TEST_F(ResultStorageTest, OversizedResultsAreNotWritten) {
  Write("big.example");
  DomainObservation obs = RelayObservation("big.example", 1700000600);
  obs.endpoints[0].greeting = Reply{220, {"220 " + std::string(kMaxStoredResultBytes, 'x')}};
  const Status written = storage_->Write("big.example", Options(), obs, nullptr, 1700000700);
  ASSERT_FALSE(written.ok());
  EXPECT_THAT(written.message(), HasSubstr("MiB bound"));
  // The previous result stays, whole.
  const LoadReport report = storage_->Load({"big.example"});
  ASSERT_THAT(report.results, SizeIs(1));
  EXPECT_DOUBLE_EQ(report.results[0].observation.started_at_unix, 1700000000);
}

TEST_F(ResultStorageTest, AFailingWriteIsAnErrorNotACrash) {
  std::filesystem::remove_all(dir_);
  const Status written =
      storage_->Write("a.example", Options(), RelayObservation("a.example"), nullptr,
                      1700000100);
  ASSERT_FALSE(written.ok());
  EXPECT_THAT(written.message(), HasSubstr("cannot create a temporary file"));
  const LoadReport report = storage_->Load({"a.example"});
  EXPECT_THAT(report.results, IsEmpty());
  EXPECT_THAT(report.skipped, SizeIs(1));  // the directory itself cannot be listed
}

TEST_F(ResultStorageTest, PruneRemovesOnlyResultFilesOfOtherDomains) {
  Write("keep.example");
  Write("gone.example");
  WriteText(dir_ + "/README", "not ours\n");
  EXPECT_EQ(storage_->Prune({"keep.example"}), 1u);
  EXPECT_THAT(FileNames(dir_), ElementsAre(".lock", "README", "keep.example.json"));
}

TEST_F(ResultStorageTest, OneExporterPerDirectory) {
  auto second = ResultStorage::Open(dir_);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.message(), HasSubstr("in use by another smtp_exporter"));
  storage_.reset();  // the lock goes with the first
  EXPECT_TRUE(ResultStorage::Open(dir_).ok());
}

TEST_F(ResultStorageTest, AnUnusableDirectoryIsAnErrorAtOpen) {
  WriteText(parent_ + "/file", "a regular file\n");
  auto under_file = ResultStorage::Open(parent_ + "/file/state");
  ASSERT_FALSE(under_file.ok());
  EXPECT_THAT(under_file.message(), HasSubstr("--storage.path " + parent_ + "/file/state: "));
  EXPECT_THAT(under_file.message(), HasSubstr("cannot create the directory"));
  auto is_file = ResultStorage::Open(parent_ + "/file");
  ASSERT_FALSE(is_file.ok());
  EXPECT_FALSE(ResultStorage::Open("").ok());
}

TEST_F(ResultStorageTest, CreatesMissingParents) {
  auto nested = ResultStorage::Open(parent_ + "/a/b/c");
  ASSERT_TRUE(nested.ok()) << nested.message();
  EXPECT_TRUE(std::filesystem::is_directory(parent_ + "/a/b/c"));
  struct stat st {};
  ASSERT_EQ(::stat((parent_ + "/a/b/c").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

}  // namespace
}  // namespace smtp_exporter
