// MetricsCache: the gzip-compressed fleet /metrics, kept between scrapes. Prometheus asks for
// gzip; compressing a 10 000-domain exposition at every scrape cost seconds. The domains' part
// is compressed once per change of the SnapshotStore and kept, together with the compressor's
// state at its end; a scrape copies that state, compresses only its own tail (the exporter's
// families, which change at every scrape) and sends the kept bytes plus the tail's: one gzip
// stream, as any client reads it.
//
// Freshness: the kept part is rebuilt at the first scrape after the store changed, unless the
// last rebuild is younger than four times its own duration; then it is served as it is, at most
// that old. Small fleets are always current; a large, busy fleet spends at most about a fifth
// of one core on compression however often it is scraped, and its scrapes do not queue behind
// back-to-back rebuilds.
//
// Thread safety: Gzip() may be called from any number of threads; one rebuild runs at a time
// and the others wait for it. A returned GzipBody is immutable.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "exporter/daemon/snapshot_store.h"

namespace smtp_exporter {

class GzipPrefix;

// One scrape's gzip body: the kept prefix, then the tail compressed at the scrape.
class GzipBody {
 public:
  GzipBody(std::shared_ptr<const GzipPrefix> prefix, std::string tail);
  std::size_t size() const;
  // Calls `write` with the body's bytes in order; false as soon as it returns false.
  bool Write(const std::function<bool(std::string_view)>& write) const;

 private:
  std::shared_ptr<const GzipPrefix> prefix_;
  std::string tail_;  // compressed, up to the gzip trailer
};

class MetricsCache {
 public:
  struct Stats {
    std::uint64_t builds = 0;          // rebuilds of the kept part so far
    double last_build_seconds = 0;     // how long the last one took
    std::size_t plain_bytes = 0;       // the kept part, uncompressed
    std::size_t compressed_bytes = 0;  // and compressed
  };

  // `store` must outlive the cache. `reuse_factor`: an out-of-date kept part is served while it
  // is younger than this many times its build time (0: rebuilt whenever the store changed).
  explicit MetricsCache(const SnapshotStore& store, int reuse_factor = 4);
  ~MetricsCache();
  MetricsCache(const MetricsCache&) = delete;
  MetricsCache& operator=(const MetricsCache&) = delete;

  // The gzip body of the fleet exposition (FleetExposition) with `tail` as its tail.
  std::shared_ptr<const GzipBody> Gzip(std::string_view tail);

  Stats stats() const;

 private:
  std::shared_ptr<const GzipPrefix> Current();

  const SnapshotStore& store_;
  const int reuse_factor_;
  mutable std::mutex mutex_;  // guards prefix_ and stats_; held during a rebuild
  std::shared_ptr<const GzipPrefix> prefix_;
  Stats stats_;
};

}  // namespace smtp_exporter
