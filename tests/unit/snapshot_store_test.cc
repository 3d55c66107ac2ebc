// SnapshotStore and its packed observations (#17 item 3): a kept result unpacks to exactly the
// result put, without its OK findings, server bytes that are not UTF-8 included; damaged bytes
// are refused, never read as some other observation; readers unpack while the scheduler puts.
#include "exporter/daemon/snapshot_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <atomic>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "exporter/check/check.h"
#include "probes/observation_json.h"
#include "tests/support/observations.h"

namespace smtp_exporter {
namespace {

using ::testing::HasSubstr;
using testing::HealthyDomain;
using testing::HealthySubmission;
using testing::UnreachableEndpoint;
using testing::WithoutStartTls;

// A domain with something in most corners of the observation: three endpoints (one without
// STARTTLS, one unreachable), submission sessions, MTA-STS and TLS-RPT records, and server text
// that is not UTF-8 (a greeting and a transcript line), so that a codec that lost a field or
// replaced bytes would show.
DomainObservation Observed(const std::string& domain) {
  DomainObservation obs = HealthyDomain(
      domain, {{10, "mx1." + domain, {"192.0.2.10", "2001:db8::10"}},
               {20, "mx2." + domain, {"192.0.2.20"}}});
  obs.started_at_unix = 1764400000.125;
  obs.duration_seconds = 2.5;
  obs.dns.duration_seconds = 0.375;
  WithoutStartTls(&obs.endpoints[1]);
  obs.endpoints[2] = UnreachableEndpoint(domain, "mx2." + domain, "192.0.2.20",
                                         ConnectStatus::kTimeout, "connect timed out");
  obs.endpoints[0].greeting = Reply{220, {"220 mx1 ESMTP caf\xe9 \xff\xfe"}};
  obs.endpoints[0].transcript = {
      {0.0, TranscriptEntry::Direction::kNote, "connected"},
      {0.012, TranscriptEntry::Direction::kServer, "220 mx1 ESMTP caf\xe9 \xff\xfe"},
      {0.013, TranscriptEntry::Direction::kClient, "EHLO probe.example.net"},
      {0.020, TranscriptEntry::Direction::kServer, "250 mx1 \xc3\xa9t\xc3\xa9"}};
  obs.endpoints[0].protocol_violations = {"bare LF"};
  obs.submission = {HealthySubmission(domain, "mx1." + domain, "192.0.2.10", 587),
                    HealthySubmission(domain, "mx1." + domain, "192.0.2.10", 465)};
  MtaStsObservation mta_sts;
  mta_sts.record_lookup = {DnsStatus::kOk, "", {"v=STSv1; id=20260101"}};
  mta_sts.record_count = 1;
  mta_sts.record_id = "20260101";
  mta_sts.policy_host = "mta-sts." + domain;
  mta_sts.fetch_status = PolicyFetchStatus::kOk;
  mta_sts.http_status = 200;
  mta_sts.policy_body = "version: STSv1\r\nmode: testing\r\nmx: mx1." + domain + "\r\n";
  mta_sts.policy = MtaStsPolicy{MtaStsMode::kTesting, {"mx1." + domain}, 86400};
  obs.mta_sts = mta_sts;
  TlsRptObservation tls_rpt;
  tls_rpt.record_lookup = {DnsStatus::kNxDomain, "no such name", {}};
  obs.tls_rpt = tls_rpt;
  return obs;
}

// The result a scheduled check leaves: judged, with a posture history (drift tracking).
CheckResult Checked(const std::string& domain) {
  DomainObservation obs = Observed(domain);
  PostureHistory posture = AdvancePosture(nullptr, obs);
  CheckOptions options = testing::FixtureOptions();
  options.submission = {587, 465};
  return EvaluateObservation(std::move(obs), options, RuleSelection::Defaults(),
                             std::move(posture));
}

std::vector<Finding> WithoutOk(std::vector<Finding> findings) {
  std::erase_if(findings, [](const Finding& f) { return f.severity == Severity::kOk; });
  return findings;
}

void ExpectSameTranscript(const EndpointObservation& read, const EndpointObservation& put) {
  ASSERT_EQ(read.transcript.size(), put.transcript.size());
  for (std::size_t i = 0; i < put.transcript.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(read.transcript[i].at_seconds, put.transcript[i].at_seconds);
    EXPECT_EQ(read.transcript[i].direction, put.transcript[i].direction);
    EXPECT_EQ(read.transcript[i].text, put.transcript[i].text);
  }
}

TEST(SnapshotStoreTest, KeptResultUnpacksToWhatWasPut) {
  const CheckResult put = Checked("example.org");
  ASSERT_GT(WithoutOk(put.findings).size(), 0u);
  ASSERT_LT(WithoutOk(put.findings).size(), put.findings.size());
  ASSERT_TRUE(put.posture.has_value());

  SnapshotStore store;
  const std::shared_ptr<const KeptResult> returned = store.Put("example.org", put);
  const std::shared_ptr<const KeptResult> kept = store.Get("example.org");
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(kept, returned);
  EXPECT_EQ(store.Get("other.example"), nullptr);

  // What is kept unpacked: the verdict and what the overview reads.
  EXPECT_EQ(kept->summary.status, put.status);
  EXPECT_EQ(kept->summary.active_findings, WithoutOk(put.findings));
  EXPECT_EQ(kept->ok_findings, put.findings.size() - WithoutOk(put.findings).size());
  EXPECT_EQ(kept->summary.endpoints, 3u);
  EXPECT_EQ(kept->summary.endpoints_judged, 3u);
  EXPECT_EQ(kept->summary.checked_at_unix, 1764400000.125);
  EXPECT_EQ(kept->posture, put.posture);

  const Result<CheckResult> unpacked = kept->Unpack();
  ASSERT_TRUE(unpacked.ok()) << unpacked.error().message;
  const CheckResult& read = unpacked.value();
  EXPECT_EQ(read.findings, WithoutOk(put.findings));
  EXPECT_EQ(read.status, put.status);
  EXPECT_EQ(read.restored, put.restored);
  EXPECT_EQ(read.posture, put.posture);
  // The whole observation, through its one codec (JSON trees compare strings byte for byte;
  // EXPECT_TRUE: printing a tree with bytes that are not UTF-8 would throw)...
  EXPECT_TRUE(ToJson(read.observation) == ToJson(put.observation));
  // ... and, field by field, what that comparison could hide: the server's bytes as they came
  // (DumpJson would have put U+FFFD in their place) and the transcripts.
  ASSERT_EQ(read.observation.endpoints.size(), put.observation.endpoints.size());
  EXPECT_EQ(read.observation.endpoints[0].greeting->lines,
            std::vector<std::string>{"220 mx1 ESMTP caf\xe9 \xff\xfe"});
  for (std::size_t i = 0; i < put.observation.endpoints.size(); ++i) {
    SCOPED_TRACE(i);
    ExpectSameTranscript(read.observation.endpoints[i], put.observation.endpoints[i]);
  }
  EXPECT_EQ(read.observation.submission.size(), 2u);
  EXPECT_EQ(read.observation.started_at_unix, put.observation.started_at_unix);
  EXPECT_EQ(read.observation.duration_seconds, put.observation.duration_seconds);
  // Judged again, it gives every finding the check gave, the OK ones too (FullResult).
  CheckOptions options = testing::FixtureOptions();
  options.submission = {587, 465};
  EXPECT_TRUE(EvaluateObservation(read.observation, options, RuleSelection::Defaults(),
                                  read.posture)
                  .findings == put.findings);
}

TEST(SnapshotStoreTest, KeptResultIsSmallerThanTheObservation) {
  const CheckResult put = Checked("example.org");
  const std::string packed = PackObservation(put.observation);
  // The document is tens of KB of JSON text; packed, a small part of it.
  EXPECT_LT(packed.size() * 4, DumpJson(ToJson(put.observation), -1).size());
  EXPECT_EQ(packed.capacity(), packed.size()) << "kept long: no spare capacity";
}

// Bytes of the packed form (PackObservation's header comment): the length of `cbor`, 4 bytes
// little-endian, then `cbor` deflated.
std::string PackedBytes(const std::vector<std::uint8_t>& cbor) {
  uLongf size = compressBound(static_cast<uLong>(cbor.size()));
  std::string out(4 + size, '\0');
  for (std::size_t i = 0; i < 4; ++i) out[i] = static_cast<char>((cbor.size() >> (8 * i)) & 0xff);
  EXPECT_EQ(compress2(reinterpret_cast<Bytef*>(out.data() + 4), &size, cbor.data(),
                      static_cast<uLong>(cbor.size()), Z_DEFAULT_COMPRESSION),
            Z_OK);
  out.resize(4 + size);
  return out;
}

TEST(SnapshotStoreTest, UnpackRefusesWhatIsNotAPackedObservation) {
  const DomainObservation obs = Observed("example.org");
  const std::string packed = PackObservation(obs);
  ASSERT_TRUE(UnpackObservation(packed).ok());
  // The format is what the header says: the same bytes built by hand read back.
  EXPECT_TRUE(UnpackObservation(PackedBytes(nlohmann::json::to_cbor(ToJson(obs)))).ok());

  const auto refused = [](std::string_view bytes, const std::string& why) {
    const Result<DomainObservation> read = UnpackObservation(bytes);
    EXPECT_FALSE(read.ok()) << why;
    if (!read.ok()) {
      EXPECT_EQ(read.error().code, ErrorCode::kInvalidArgument) << why;
    }
  };
  refused("", "empty");
  refused("\x01\x00", "shorter than the length");
  refused(std::string("\xff\xff\xff\x7f", 4) + packed.substr(4), "length out of bounds");
  refused(PackedBytes({0xff, 0x00, 0x13}), "not CBOR");
  refused(PackedBytes(nlohmann::json::to_cbor({{"schema_version", 99}})), "not an observation");
  refused(PackedBytes(nlohmann::json::to_cbor(nlohmann::json::array())), "not an object");
  // Every cut refuses: deflate's end and the Adler-32 trailer (RFC 1950 §2.2) are missing.
  for (std::size_t size = 0; size < packed.size(); ++size) {
    refused(std::string_view(packed).substr(0, size), "cut at " + std::to_string(size));
  }
}

// A damaged byte anywhere is refused or, where deflate never reads it (the padding bits of the
// last block), changes nothing: never another observation.
TEST(SnapshotStoreTest, DamagedBytesNeverReadAsAnotherObservation) {
  const DomainObservation obs = Observed("example.org");
  const nlohmann::json document = ToJson(obs);
  const std::string packed = PackObservation(obs);
  std::size_t refused = 0;
  for (std::size_t i = 0; i < packed.size(); ++i) {
    for (const unsigned flip : {0x01u, 0x80u}) {
      std::string damaged = packed;
      damaged[i] = static_cast<char>(static_cast<unsigned char>(damaged[i]) ^ flip);
      const Result<DomainObservation> read = UnpackObservation(damaged);
      if (read.ok()) {
        EXPECT_TRUE(ToJson(read.value()) == document) << "byte " << i;
      } else {
        ++refused;
      }
    }
  }
  EXPECT_GT(refused, packed.size() * 2 * 9 / 10);
}

// SetMetricsDetail renders every kept result's series again from the unpacked observation:
// the same text as rendering the result put, with the OK findings it no longer carries.
TEST(SnapshotStoreTest, NewDetailRendersFromTheUnpackedResult) {
  const CheckResult put = Checked("example.org");
  SnapshotStore store;
  store.Put("example.org", put);
  const std::uint64_t before = store.generation();
  store.SetMetricsDetail(MetricsDetail::Full());
  EXPECT_GT(store.generation(), before);
  const auto entries = store.Entries();
  ASSERT_EQ(entries.size(), 1u);
  const DomainSeries expected =
      RenderDomainSeries(put, /*with_restored=*/true, MetricsDetail::Full());
  ASSERT_EQ(entries[0]->series.bytes(), expected.bytes());
  for (std::size_t family = 0; family < DomainFamilyCount(); ++family) {
    EXPECT_EQ(entries[0]->series.Lines(family), expected.Lines(family)) << family;
  }
  // The entry's kept result is the same one: only its series changed.
  EXPECT_EQ(entries[0]->result, store.Get("example.org"));
}

// The scheduler's workers put while routes read and unpack (the TSan build runs this).
TEST(SnapshotStoreTest, ReadersUnpackWhileResultsArePut) {
  SnapshotStore store;
  const std::vector<CheckResult> results = {Checked("a.example"), Checked("b.example")};
  store.Put("a.example", results[0]);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (std::size_t i = 0; i < 40; ++i) {
      store.Put(i % 2 == 0 ? "a.example" : "b.example", results[i % 2]);
      if (i == 20) {
        store.SetMetricsDetail(MetricsDetail::Full());
      }
    }
    done = true;
  });
  std::size_t unpacked = 0;
  while (!done.load() || unpacked == 0) {
    for (const auto& entry : store.Entries()) {
      const Result<CheckResult> read = entry->result->Unpack();
      if (!read.ok()) {
        ADD_FAILURE() << read.error().message;  // not ASSERT: the writer must be joined
        continue;
      }
      EXPECT_THAT(read.value().observation.domain, HasSubstr(".example"));
      EXPECT_GT(entry->series.bytes(), 0u);
      ++unpacked;
    }
  }
  writer.join();
  EXPECT_EQ(store.size(), 2u);
  const auto b = store.Get("b.example");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->Unpack().value().observation.domain, "b.example");
}

}  // namespace
}  // namespace smtp_exporter
