// MetricsCache: the fleet /metrics gzip kept between scrapes. The body must inflate to exactly
// the plain fleet text with the same tail, follow the store, be rebuilt only when the store
// changed, and stay consistent while scrapes and checks run concurrently.
#include "exporter/daemon/metrics_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "exporter/check/check.h"
#include "exporter/report/metrics.h"
#include "tests/support/observations.h"

namespace smtp_exporter {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::shared_ptr<const CheckResult> ResultFor(const std::string& domain, int n) {
  DomainObservation obs;
  obs.domain = domain;
  obs.started_at_unix = 1700000000 + n;
  obs.endpoints.push_back(
      testing::HealthyEndpoint(domain, "mx." + domain, n % 2 == 0 ? "192.0.2.10" : "2001:db8::10"));
  return std::make_shared<const CheckResult>(EvaluateObservation(std::move(obs), CheckOptions{}));
}

std::string Inflate(const std::string& gzip) {
  z_stream stream{};
  EXPECT_EQ(inflateInit2(&stream, 15 + 16), Z_OK);  // gzip only
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gzip.data()));
  stream.avail_in = static_cast<uInt>(gzip.size());
  std::string out;
  char buffer[4096];
  int status = Z_OK;
  while (status == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof(buffer);
    status = inflate(&stream, Z_NO_FLUSH);
    out.append(buffer, sizeof(buffer) - stream.avail_out);
  }
  EXPECT_EQ(status, Z_STREAM_END);
  EXPECT_EQ(stream.avail_in, 0u) << "bytes after the gzip trailer";
  inflateEnd(&stream);
  return out;
}

std::string Collect(const std::function<bool(const std::function<bool(std::string_view)>&)>& w) {
  std::string out;
  EXPECT_TRUE(w([&](std::string_view piece) {
    out.append(piece);
    return true;
  }));
  return out;
}

std::string PlainText(const SnapshotStore& store, const std::string& tail) {
  const auto entries = store.Entries();
  std::vector<const DomainSeries*> series;
  for (const auto& entry : entries) {
    series.push_back(&entry->series);
  }
  const FleetExposition exposition(series, tail);
  // Every piece but the last is a whole chunk: a socket or a compressor gets few, large writes.
  std::vector<std::size_t> pieces;
  std::string text;
  EXPECT_TRUE(exposition.Write([&](std::string_view piece) {
    pieces.push_back(piece.size());
    text.append(piece);
    return true;
  }));
  for (std::size_t i = 0; i + 1 < pieces.size(); ++i) {
    EXPECT_EQ(pieces[i], FleetExposition::kWriteChunkBytes);
  }
  EXPECT_EQ(text.size(), exposition.size());
  return text;
}

std::string GzipText(MetricsCache& cache, const std::string& tail) {
  const auto body = cache.Gzip(tail);
  const std::string bytes = Collect([&](const auto& write) { return body->Write(write); });
  EXPECT_EQ(bytes.size(), body->size());
  return Inflate(bytes);
}

TEST(MetricsCacheTest, InflatesToThePlainTextWithTheScrapesTail) {
  SnapshotStore store;
  for (int i = 0; i < 50; ++i) {
    store.Put("d" + std::to_string(100 + i) + ".example", *ResultFor("d" + std::to_string(100 + i) + ".example", i));
  }
  MetricsCache cache(store, /*reuse_factor=*/0);
  const std::string first = GzipText(cache, "smtp_exporter_domains 50\n");
  EXPECT_EQ(first, PlainText(store, "smtp_exporter_domains 50\n"));
  EXPECT_GT(first.size(), FleetExposition::kWriteChunkBytes);  // so chunking is exercised
  EXPECT_THAT(first, HasSubstr("smtp_endpoint_up{domain=\"d149.example\""));
  // The same kept part serves another tail: only the tail differs.
  EXPECT_EQ(GzipText(cache, "smtp_exporter_domains 51\n"),
            PlainText(store, "smtp_exporter_domains 51\n"));
  EXPECT_EQ(GzipText(cache, ""), PlainText(store, ""));
  EXPECT_EQ(cache.stats().builds, 1u);
  EXPECT_GT(cache.stats().plain_bytes, 10 * cache.stats().compressed_bytes / 2);
}

TEST(MetricsCacheTest, FollowsTheStore) {
  SnapshotStore store;
  MetricsCache cache(store, /*reuse_factor=*/0);
  EXPECT_EQ(GzipText(cache, "t 1\n"), "t 1\n");  // no domains yet: the tail alone
  store.Put("a.example", *ResultFor("a.example", 1));
  EXPECT_THAT(GzipText(cache, "t 1\n"), HasSubstr("domain=\"a.example\""));
  store.Retain({});
  EXPECT_THAT(GzipText(cache, "t 1\n"), Not(HasSubstr("a.example")));
  store.SetMetricsDetail(MetricsDetail::Full());
  store.Put("b.example", *ResultFor("b.example", 2));
  EXPECT_THAT(GzipText(cache, ""), HasSubstr("smtp_extension{domain=\"b.example\""));
  EXPECT_EQ(cache.stats().builds, 4u);
}

// A busy large fleet: a part younger than reuse_factor times its build time is served as it is,
// out of date, so back-to-back scrapes do not each pay a rebuild.
TEST(MetricsCacheTest, ARecentPartIsReusedWhileTheStoreChanges) {
  SnapshotStore store;
  store.Put("a.example", *ResultFor("a.example", 1));
  MetricsCache cache(store, /*reuse_factor=*/1'000'000'000);
  EXPECT_THAT(GzipText(cache, ""), HasSubstr("a.example"));
  store.Put("b.example", *ResultFor("b.example", 2));
  EXPECT_THAT(GzipText(cache, ""), Not(HasSubstr("b.example")));
  EXPECT_EQ(cache.stats().builds, 1u);
}

// Under TSan: scrapes read kept parts while checks put results and rebuilds swap them.
TEST(MetricsCacheTest, ConcurrentScrapesAndPutsStayConsistent) {
  SnapshotStore store;
  MetricsCache cache(store, /*reuse_factor=*/0);
  std::atomic<bool> failed{false};
  std::thread writer([&] {
    for (int i = 0; i < 200; ++i) {
      store.Put("w" + std::to_string(i % 20) + ".example", *ResultFor("w" + std::to_string(i % 20) + ".example", i));
    }
  });
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        const std::string text = GzipText(cache, "tail 1\n");
        if (text.size() < 7 || text.compare(text.size() - 7, 7, "tail 1\n") != 0) {
          failed = true;
        }
      }
    });
  }
  writer.join();
  for (auto& reader : readers) {
    reader.join();
  }
  EXPECT_FALSE(failed);
  EXPECT_EQ(GzipText(cache, ""), PlainText(store, ""));
}

}  // namespace
}  // namespace smtp_exporter
