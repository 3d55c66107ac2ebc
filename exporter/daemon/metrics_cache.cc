#include "exporter/daemon/metrics_cache.h"

#include <zlib.h>

#include <stdexcept>
#include <utility>
#include <vector>

namespace smtp_exporter {
namespace {

// Level 1: metrics text is repetitive enough that the fastest level already compresses it about
// twelvefold, at several times the speed of zlib's default level 6.
constexpr int kLevel = Z_BEST_SPEED;
constexpr int kGzipWindowBits = 15 + 16;  // 32 KiB window, gzip header and trailer (RFC 1952)
constexpr int kMemLevel = 8;
constexpr std::size_t kChunk = 64 * 1024;

// Runs deflate over `input` with `flush`, appending what it produces to `out`.
void Deflate(z_stream* stream, std::string_view input, int flush, std::string* out) {
  stream->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  stream->avail_in = static_cast<uInt>(input.size());
  char buffer[kChunk];
  for (;;) {
    stream->next_out = reinterpret_cast<Bytef*>(buffer);
    stream->avail_out = sizeof(buffer);
    const int status = deflate(stream, flush);
    if (status == Z_STREAM_ERROR) {
      throw std::runtime_error("deflate failed");
    }
    out->append(buffer, sizeof(buffer) - stream->avail_out);
    if (status == Z_STREAM_END) {
      return;
    }
    // Done once all input is taken and the output buffer was not filled (so nothing is left
    // pending for this flush mode).
    if (stream->avail_in == 0 && stream->avail_out != 0 && flush != Z_FINISH) {
      return;
    }
  }
}

}  // namespace

// The compressed domains' part and the compressor's state right after it (flushed to a byte
// boundary with Z_SYNC_FLUSH, so the bytes so far are complete and more can follow).
class GzipPrefix {
 public:
  GzipPrefix() {
    if (deflateInit2(&stream_, kLevel, Z_DEFLATED, kGzipWindowBits, kMemLevel,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
      throw std::runtime_error("deflateInit2 failed");
    }
  }
  ~GzipPrefix() { deflateEnd(&stream_); }
  GzipPrefix(const GzipPrefix&) = delete;
  GzipPrefix& operator=(const GzipPrefix&) = delete;

  // Building: compresses `text` (FleetExposition hands it over in 64 KiB chunks).
  void Add(std::string_view text) {
    plain_bytes_ += text.size();
    Deflate(&stream_, text, Z_NO_FLUSH, &bytes_);
  }
  // Building: ends the part.
  void Finish() { Deflate(&stream_, std::string_view(), Z_SYNC_FLUSH, &bytes_); }

  // The tail, compressed as the continuation of this part, with the gzip trailer. Reads the
  // kept state only (deflateCopy copies it), so any number of threads may call it at once.
  std::string CompressTail(std::string_view tail) const {
    z_stream copy{};
    if (deflateCopy(&copy, const_cast<z_stream*>(&stream_)) != Z_OK) {
      throw std::runtime_error("deflateCopy failed");
    }
    std::string out;
    try {
      Deflate(&copy, tail, Z_FINISH, &out);
    } catch (...) {
      deflateEnd(&copy);
      throw;
    }
    deflateEnd(&copy);
    return out;
  }

  const std::string& bytes() const { return bytes_; }
  std::size_t plain_bytes() const { return plain_bytes_; }

  std::uint64_t generation = 0;
  std::chrono::steady_clock::time_point built_at;
  std::chrono::steady_clock::duration build_time{};

 private:
  z_stream stream_{};
  std::string bytes_;
  std::size_t plain_bytes_ = 0;
};

GzipBody::GzipBody(std::shared_ptr<const GzipPrefix> prefix, std::string tail)
    : prefix_(std::move(prefix)), tail_(std::move(tail)) {}

std::size_t GzipBody::size() const { return prefix_->bytes().size() + tail_.size(); }

bool GzipBody::Write(const std::function<bool(std::string_view)>& write) const {
  return write(prefix_->bytes()) && write(tail_);
}

MetricsCache::MetricsCache(const SnapshotStore& store, int reuse_factor)
    : store_(store), reuse_factor_(reuse_factor) {}

MetricsCache::~MetricsCache() = default;

std::shared_ptr<const GzipPrefix> MetricsCache::Current() {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  const std::uint64_t generation = store_.generation();
  if (prefix_ != nullptr &&
      (prefix_->generation == generation ||
       now - prefix_->built_at < reuse_factor_ * prefix_->build_time)) {
    return prefix_;
  }
  // The generation is read before the entries: a change in between makes the next scrape
  // rebuild again, never keeps a stale part marked current.
  const std::vector<std::shared_ptr<const SnapshotStore::Entry>> entries = store_.Entries();
  std::vector<const DomainSeries*> series;
  series.reserve(entries.size());
  for (const auto& entry : entries) {
    series.push_back(&entry->series);
  }
  auto prefix = std::make_shared<GzipPrefix>();
  FleetExposition(std::move(series), std::string()).WriteDomains([&](std::string_view piece) {
    prefix->Add(piece);
    return true;
  });
  prefix->Finish();
  const auto done = std::chrono::steady_clock::now();
  prefix->generation = generation;
  prefix->built_at = done;
  prefix->build_time = done - now;
  ++stats_.builds;
  stats_.last_build_seconds = std::chrono::duration<double>(prefix->build_time).count();
  stats_.plain_bytes = prefix->plain_bytes();
  stats_.compressed_bytes = prefix->bytes().size();
  prefix_ = std::move(prefix);
  return prefix_;
}

std::shared_ptr<const GzipBody> MetricsCache::Gzip(std::string_view tail) {
  std::shared_ptr<const GzipPrefix> prefix = Current();
  std::string compressed_tail = prefix->CompressTail(tail);
  return std::make_shared<const GzipBody>(std::move(prefix), std::move(compressed_tail));
}

MetricsCache::Stats MetricsCache::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

}  // namespace smtp_exporter
