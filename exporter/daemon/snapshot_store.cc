#include "exporter/daemon/snapshot_store.h"

#include <spdlog/spdlog.h>
#include <zlib.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <utility>
#include <vector>

#include "probes/observation_json.h"

namespace smtp_exporter {
namespace {

// zlib's default level: the observation is packed once per check and read back rarely, and
// levels above it gain little on text this repetitive.
constexpr int kPackLevel = Z_DEFAULT_COMPRESSION;
constexpr std::size_t kLengthBytes = 4;
// Deflate expands at most about 1032 times (zlib's FAQ: a 258-byte match in a few bits): a
// damaged length beyond that for the bytes that follow is refused before anything is allocated
// for it.
constexpr std::size_t kMaxDeflateRatio = 1032;

Error Damaged(std::string_view what) {
  return Error::InvalidArgument("packed observation: " + std::string(what));
}

// The entry of a kept result, its series rendered from `rendered`: the result as put, or as
// unpacked again, when its OK findings (`omitted_ok_findings`) are left out.
std::shared_ptr<const SnapshotStore::Entry> MakeEntry(std::shared_ptr<const KeptResult> kept,
                                                      const CheckResult& rendered,
                                                      std::size_t omitted_ok_findings,
                                                      const MetricsDetail& detail) {
  auto entry = std::make_shared<SnapshotStore::Entry>();
  entry->series =
      RenderDomainSeries(rendered, /*with_restored=*/true, detail, omitted_ok_findings);
  entry->result = std::move(kept);
  return entry;
}

}  // namespace

std::string PackObservation(const DomainObservation& observation) {
  const std::vector<std::uint8_t> cbor = nlohmann::json::to_cbor(ToJson(observation));
  if (cbor.size() > std::numeric_limits<std::uint32_t>::max()) {
    // The probes' bounds (reply lines, endpoints) keep an observation far below 4 GiB.
    throw std::length_error("observation too large to pack");
  }
  uLongf packed_size = compressBound(static_cast<uLong>(cbor.size()));
  std::string packed(kLengthBytes + packed_size, '\0');
  const auto length = static_cast<std::uint32_t>(cbor.size());
  for (std::size_t i = 0; i < kLengthBytes; ++i) {
    packed[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  }
  if (compress2(reinterpret_cast<Bytef*>(packed.data() + kLengthBytes), &packed_size,
                cbor.data(), static_cast<uLong>(cbor.size()), kPackLevel) != Z_OK) {
    throw std::runtime_error("compress2 failed");
  }
  packed.resize(kLengthBytes + packed_size);
  packed.shrink_to_fit();  // compressBound reserved more than deflate needed; it is kept long
  return packed;
}

Result<DomainObservation> UnpackObservation(std::string_view packed) {
  if (packed.size() < kLengthBytes) {
    return Damaged("shorter than its length");
  }
  std::uint32_t length = 0;
  for (std::size_t i = 0; i < kLengthBytes; ++i) {
    length |= static_cast<std::uint32_t>(static_cast<unsigned char>(packed[i])) << (8 * i);
  }
  if (length > (packed.size() - kLengthBytes) * kMaxDeflateRatio + 64) {
    return Damaged("length out of bounds");
  }
  std::vector<std::uint8_t> cbor(length);
  uLongf cbor_size = length;
  const int inflated =
      uncompress(cbor.data(), &cbor_size,
                 reinterpret_cast<const Bytef*>(packed.data() + kLengthBytes),
                 static_cast<uLong>(packed.size() - kLengthBytes));
  if (inflated != Z_OK || cbor_size != length) {
    return Damaged("does not inflate to its length");
  }
  // allow_exceptions=false: damaged CBOR reads as a discarded value, not a throw.
  const nlohmann::json document =
      nlohmann::json::from_cbor(cbor, /*strict=*/true, /*allow_exceptions=*/false);
  if (document.is_discarded()) {
    return Damaged("is not CBOR");
  }
  return DomainObservationFromJson(document);
}

Result<CheckResult> KeptResult::Unpack() const {
  Result<DomainObservation> observation = UnpackObservation(packed_observation);
  if (!observation.ok()) {
    return observation.error();
  }
  CheckResult result;
  result.observation = std::move(observation).value();
  result.findings = summary.active_findings;
  result.status = summary.status;
  result.restored = summary.restored;
  result.posture = posture;
  return result;
}

std::shared_ptr<const KeptResult> SnapshotStore::Put(const std::string& domain,
                                                     const CheckResult& result) {
  auto kept = std::make_shared<KeptResult>();
  kept->summary = SummariseCheck(result);
  kept->ok_findings = result.findings.size() - kept->summary.active_findings.size();
  kept->posture = result.posture;
  kept->packed_observation = PackObservation(result.observation);
  std::shared_ptr<const KeptResult> published = std::move(kept);
  MetricsDetail detail;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    detail = detail_;
  }
  // Packed and rendered outside the lock: readers never wait on it. A detail change in between
  // is caught below, where the entry is rendered again.
  auto entry = MakeEntry(published, result, 0, detail);
  std::lock_guard<std::mutex> lock(mutex_);
  if (!(detail == detail_)) {
    entry = MakeEntry(published, result, 0, detail_);
  }
  entries_[domain] = std::move(entry);
  ++generation_;
  return published;
}

std::shared_ptr<const KeptResult> SnapshotStore::Get(const std::string& domain) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = entries_.find(domain);
  return it == entries_.end() ? nullptr : it->second->result;
}

std::vector<std::shared_ptr<const SnapshotStore::Entry>> SnapshotStore::Entries() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::shared_ptr<const Entry>> out;
  out.reserve(entries_.size());
  for (const auto& [domain, entry] : entries_) {
    out.push_back(entry);
  }
  return out;
}

void SnapshotStore::Retain(const std::vector<std::string>& keep) {
  const std::set<std::string, std::less<>> kept(keep.begin(), keep.end());
  std::lock_guard<std::mutex> lock(mutex_);
  if (std::erase_if(entries_, [&](const auto& entry) { return !kept.contains(entry.first); }) >
      0) {
    ++generation_;
  }
}

void SnapshotStore::SetMetricsDetail(const MetricsDetail& detail) {
  std::map<std::string, std::shared_ptr<const Entry>> before;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (detail == detail_) {
      return;
    }
    detail_ = detail;  // from here on, Put renders with it
    before = entries_;
  }
  // Rare (a reload that changes `metrics:`), but every result is unpacked: outside the lock, so
  // /metrics and the pages go on meanwhile, serving the series of the old detail until the
  // new ones are swapped in below.
  std::map<std::string, std::shared_ptr<const Entry>> rendered;
  for (const auto& [domain, entry] : before) {
    Result<CheckResult> whole = entry->result->Unpack();
    if (!whole.ok()) {
      // Cannot happen unless memory was damaged: the store packed these bytes itself. The
      // domain keeps its series until its next check.
      spdlog::error("series of {} not rendered again: {}", domain, whole.error().message);
      continue;
    }
    rendered[domain] = MakeEntry(entry->result, whole.value(), entry->result->ok_findings, detail);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (!(detail == detail_)) {
    return;  // changed again meanwhile: that call renders them
  }
  for (auto& [domain, entry] : rendered) {
    // An entry put meanwhile was rendered with the new detail already (Put).
    const auto it = entries_.find(domain);
    if (it != entries_.end() && it->second->result == entry->result) {
      it->second = std::move(entry);
    }
  }
  ++generation_;
}

std::size_t SnapshotStore::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

std::uint64_t SnapshotStore::generation() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return generation_;
}

}  // namespace smtp_exporter
