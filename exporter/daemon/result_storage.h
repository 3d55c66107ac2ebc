// ResultStorage: the daemon's state on disk (--storage.path DIR). After each scheduled check the
// domain's latest observation is written to DIR, one file per domain; at start-up the files are
// read back, so that a restart serves the last results at once instead of an empty /metrics
// until every domain has been checked again (issue #18). What is stored is the observation, not
// the verdict: the daemon judges it again with the rules and options it runs with now
// (EvaluateObservation), so an upgrade's rule changes apply to restored results too.
//
// Layout of DIR (owned by one exporter: a second one opening it is refused, through an
// exclusive flock(2) on DIR/.lock held for the life of the object, as Prometheus locks its
// TSDB directory):
//   <name>.json   one domain's latest observation (StoredResultFileName: the domain name with
//                 every byte but [a-z0-9-_] and non-leading dots percent-encoded, so no name
//                 can leave DIR, hide as a dot file or collide with another)
//   .tmp-XXXXXX   a file being written; renamed over <name>.json once complete and synced,
//                 so a reader never sees half a result; leftovers of a crash are removed at Open
//   .lock         the lock
// A file holds one JSON object: format "smtp_exporter.stored_result", format_version, domain,
// written_at (Unix seconds), exporter_version, options (StoredOptionsJson of the options the
// observation was collected with), observation (ToJson(DomainObservation)) and, when the daemon
// tracks it, posture (PostureHistoryToJson: what changed between checks, so that drift
// detection survives a restart; absent in files of older versions). Files are
// created mode 0600: they hold server banners and transcripts (docs/security.md).
//
// Reading is defensive: a file that is not a regular file, is larger than
// kMaxStoredResultBytes, is not JSON, nests deeper than any file we write, has another format
// or version, names another domain than its file name, or whose observation does not read back
// is skipped with a reason (LoadReport::skipped); nothing in DIR can crash or hang the daemon.
//
// Thread safety: Write() may run concurrently from the scheduler's workers (each write has its
// own temporary file; the same domain is never checked twice at once, and if it were, the last
// rename wins whole). Load() and Prune() are for start-up and reload; they may run alongside
// Write() but may then miss or remove a file being replaced at that moment.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/base/result.h"
#include "config/check_options.h"
#include "exporter/check/posture.h"
#include "probes/dns_observation.h"

namespace smtp_exporter {

// Neither written nor read beyond this. A real domain's file is a few to a few tens of KiB;
// 4 MiB holds even 32 endpoints (the plan's bound) each near its 128 KiB session bound. A
// larger observation (only a hostile server can make one) is not stored, and logged.
inline constexpr std::uintmax_t kMaxStoredResultBytes = 4 * 1024 * 1024;

// Identifies our files; bumped when the envelope changes incompatibly (the observation inside
// has its own schema_version, checked by DomainObservationFromJson).
inline constexpr std::string_view kStoredResultFormat = "smtp_exporter.stored_result";
inline constexpr int kStoredResultFormatVersion = 1;

// "<encoded domain>.json"; "" when the encoded name would not fit in one path component (255
// bytes): such a domain (a valid name of 251 bytes or more) is not stored.
std::string StoredResultFileName(std::string_view domain);

// The domain a file name stands for, if it is exactly StoredResultFileName of some domain
// (canonical encoding only); nullopt for every other name.
std::optional<std::string> DomainOfStoredResultFileName(std::string_view file_name);

// The options that decide what a check collects, as a JSON object keyed by option (durations
// in milliseconds). Two equal objects mean the same probes with the same parameters.
nlohmann::json StoredOptionsJson(const CheckOptions& options);

// One result read back.
struct StoredResult {
  std::string domain;
  nlohmann::json options;  // StoredOptionsJson of the options the observation was collected with
  DomainObservation observation;
  std::optional<PostureHistory> posture;  // absent in files that have none
  double written_at_unix = 0;
};

struct LoadReport {
  std::vector<StoredResult> results;  // ordered by domain
  // One line per file skipped and why: "<file name>: <reason>". Files of domains not asked for
  // are not listed here (Prune removes them).
  std::vector<std::string> skipped;
};

class ResultStorage {
 public:
  // Creates DIR (and its parents) if missing, takes the lock and checks that a file can be
  // created, synced and removed there. An error names DIR and the cause: bad start-up
  // configuration, for the caller to exit on.
  static Result<std::unique_ptr<ResultStorage>> Open(const std::string& dir);
  ~ResultStorage();
  ResultStorage(const ResultStorage&) = delete;
  ResultStorage& operator=(const ResultStorage&) = delete;

  const std::string& dir() const { return dir_; }

  // Replaces `domain`'s file atomically: writes a temporary file, fsyncs it, renames it over
  // the old one and fsyncs DIR. `options` are the (effective) options `observation` was
  // collected with; `posture` (may be nullptr) the domain's posture history with it folded in.
  // On error (disk full, DIR removed, too large) the old file is left as it was and the
  // temporary one removed.
  Status Write(const std::string& domain, const CheckOptions& options,
               const DomainObservation& observation, const PostureHistory* posture,
               double written_at_unix) const;

  // Reads the file of every domain in `domains` that has one.
  LoadReport Load(const std::set<std::string>& domains) const;

  // Removes the files of domains not in `keep` (removed from the config). Returns how many.
  std::size_t Prune(const std::set<std::string>& keep) const;

 private:
  ResultStorage(std::string dir, int dir_fd, int lock_fd);

  const std::string dir_;
  const int dir_fd_;   // for fsync after a rename
  const int lock_fd_;  // holds the flock
};

}  // namespace smtp_exporter
