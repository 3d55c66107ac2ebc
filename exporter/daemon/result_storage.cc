#include "exporter/daemon/result_storage.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <type_traits>
#include <utility>
#include <variant>

#include "config/check_option_table.h"
#include "exporter/version.h"
#include "probes/observation_json.h"

namespace smtp_exporter {
namespace {

constexpr std::size_t kMaxFileNameBytes = 255;  // NAME_MAX of every Linux file system we expect
constexpr std::string_view kSuffix = ".json";
constexpr std::string_view kTempPrefix = ".tmp-";
constexpr std::string_view kLockName = ".lock";
// Our files nest about 8 levels deep; anything much deeper is not ours, and refusing it
// before parsing keeps a hostile file from costing deep recursion anywhere.
constexpr int kMaxJsonDepth = 64;

std::string ErrnoText(int error) { return std::generic_category().message(error); }

bool Unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;  // lower-case hex is not canonical: StoredResultFileName writes upper case
}

// Closes a file descriptor when the scope ends.
struct FdCloser {
  int fd = -1;
  ~FdCloser() {
    if (fd >= 0) {
      ::close(fd);
    }
  }
};

// Depth of the deepest array or object in `text`, counting brackets outside strings.
int JsonDepth(std::string_view text) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Error::Io(ErrnoText(errno));
    }
    data.remove_prefix(static_cast<std::size_t>(written));
  }
  return Status::Ok();
}

// Reads a regular file of at most kMaxStoredResultBytes. Never follows a symlink and never
// blocks on a FIFO or device (O_NONBLOCK, then only regular files are read).
Result<std::string> ReadBounded(int dir_fd, const std::string& name) {
  FdCloser file{::openat(dir_fd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)};
  if (file.fd < 0) {
    return Error::Io(errno == ELOOP ? "a symbolic link, not a result file"
                                    : "cannot open: " + ErrnoText(errno));
  }
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) {
    return Error::Io("cannot stat: " + ErrnoText(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return Error::Io("not a regular file");
  }
  if (static_cast<std::uintmax_t>(st.st_size) > kMaxStoredResultBytes) {
    return Error{ErrorCode::kLimitExceeded,
                 "larger than " + std::to_string(kMaxStoredResultBytes / (1024 * 1024)) + " MiB"};
  }
  std::string text;
  char buffer[65536];
  while (true) {
    const ssize_t got = ::read(file.fd, buffer, sizeof(buffer));
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Error::Io("cannot read: " + ErrnoText(errno));
    }
    if (got == 0) {
      break;
    }
    text.append(buffer, static_cast<std::size_t>(got));
    if (text.size() > kMaxStoredResultBytes) {  // grew since fstat
      return Error{ErrorCode::kLimitExceeded,
                   "larger than " + std::to_string(kMaxStoredResultBytes / (1024 * 1024)) + " MiB"};
    }
  }
  return text;
}

// The stored result in `text`, which was read from the file of `domain`.
Result<StoredResult> ParseStoredResult(const std::string& text, const std::string& domain) {
  if (JsonDepth(text) > kMaxJsonDepth) {
    return Error::InvalidArgument("not a stored result: JSON nested too deeply");
  }
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return Error::InvalidArgument("not valid JSON (truncated or corrupt)");
  }
  if (!doc.is_object() || !doc.contains("format") || doc["format"] != kStoredResultFormat) {
    return Error::InvalidArgument("not a stored result (no \"format\": \"" +
                                  std::string(kStoredResultFormat) + "\")");
  }
  if (!doc.contains("format_version") || !doc["format_version"].is_number_integer() ||
      doc["format_version"].get<std::int64_t>() != kStoredResultFormatVersion) {
    return Error::InvalidArgument("unsupported format_version (this exporter reads " +
                                  std::to_string(kStoredResultFormatVersion) + ")");
  }
  if (!doc.contains("domain") || doc["domain"] != domain) {
    return Error::InvalidArgument("its \"domain\" is not the domain of its file name");
  }
  if (!doc.contains("options") || !doc["options"].is_object()) {
    return Error::InvalidArgument("\"options\" is missing or not an object");
  }
  if (!doc.contains("observation")) {
    return Error::InvalidArgument("\"observation\" is missing");
  }
  Result<DomainObservation> observation = DomainObservationFromJson(doc["observation"]);
  if (!observation.ok()) {
    return Error::InvalidArgument("observation does not read back: " + observation.error().message);
  }
  if (observation.value().domain != domain) {
    return Error::InvalidArgument("the observation is of another domain");
  }
  StoredResult result;
  if (doc.contains("posture")) {
    Result<PostureHistory> posture = PostureHistoryFromJson(doc["posture"]);
    if (!posture.ok()) {
      return Error::InvalidArgument("posture does not read back: " + posture.error().message);
    }
    result.posture = std::move(posture).value();
  }
  result.domain = domain;
  result.options = doc["options"];
  result.observation = std::move(observation).value();
  if (doc.contains("written_at") && doc["written_at"].is_number()) {
    result.written_at_unix = doc["written_at"].get<double>();
  }
  return result;
}

// File names in DIR (not "." and ".."), or an error.
Result<std::vector<std::string>> ListDir(const std::string& dir) {
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) {
    return Error::Io(dir + ": cannot list: " + ErrnoText(errno));
  }
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(handle)) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") {
      names.emplace_back(name);
    }
  }
  ::closedir(handle);
  std::sort(names.begin(), names.end());
  return names;
}

// Creates, writes, syncs and removes a file in DIR: the checks a later Write() depends on.
Status ProbeWritable(const std::string& dir) {
  std::string path = dir + "/" + std::string(kTempPrefix) + "XXXXXX";
  const int fd = ::mkostemp(path.data(), O_CLOEXEC);
  if (fd < 0) {
    return Error::Io("cannot create a file: " + ErrnoText(errno));
  }
  Status status = WriteAll(fd, "probe\n");
  if (status.ok() && ::fsync(fd) != 0) {
    status = Error::Io("cannot fsync a file: " + ErrnoText(errno));
  }
  ::close(fd);
  if (::unlink(path.c_str()) != 0 && status.ok()) {
    status = Error::Io("cannot remove a file: " + ErrnoText(errno));
  }
  return status;
}

}  // namespace

std::string StoredResultFileName(std::string_view domain) {
  if (domain.empty()) {
    return "";
  }
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string name;
  for (std::size_t i = 0; i < domain.size(); ++i) {
    const char c = domain[i];
    if (Unreserved(c) || (c == '.' && i > 0)) {
      name += c;
    } else {
      const auto byte = static_cast<unsigned char>(c);
      name += '%';
      name += kHex[byte >> 4];
      name += kHex[byte & 0xF];
    }
  }
  name += kSuffix;
  return name.size() <= kMaxFileNameBytes ? name : "";
}

std::optional<std::string> DomainOfStoredResultFileName(std::string_view file_name) {
  if (!file_name.ends_with(kSuffix) || file_name.size() == kSuffix.size()) {
    return std::nullopt;
  }
  const std::string_view encoded = file_name.substr(0, file_name.size() - kSuffix.size());
  std::string domain;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] == '%') {
      if (i + 2 >= encoded.size()) {
        return std::nullopt;
      }
      const int high = HexValue(encoded[i + 1]);
      const int low = HexValue(encoded[i + 2]);
      if (high < 0 || low < 0) {
        return std::nullopt;
      }
      domain += static_cast<char>(high * 16 + low);
      i += 2;
    } else {
      domain += encoded[i];
    }
  }
  // Canonical only: exactly one file name per domain, so two files never compete for one.
  if (StoredResultFileName(domain) != file_name) {
    return std::nullopt;
  }
  return domain;
}

nlohmann::json StoredOptionsJson(const CheckOptions& options) {
  nlohmann::json out = nlohmann::json::object();
  for (const CheckOptionSpec& spec : CheckOptionSpecs()) {
    const std::string key(spec.key);
    std::visit(
        [&](auto member) {
          const auto& value = options.*member;
          using Value = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<Value, std::chrono::milliseconds>) {
            out[key] = value.count();
          } else {
            out[key] = value;
          }
        },
        spec.field);
  }
  return out;
}

ResultStorage::ResultStorage(std::string dir, int dir_fd, int lock_fd)
    : dir_(std::move(dir)), dir_fd_(dir_fd), lock_fd_(lock_fd) {}

ResultStorage::~ResultStorage() {
  ::close(lock_fd_);  // releases the flock
  ::close(dir_fd_);
}

Result<std::unique_ptr<ResultStorage>> ResultStorage::Open(const std::string& dir) {
  const std::string where = "--storage.path " + dir + ": ";
  if (dir.empty()) {
    return Error::InvalidArgument("--storage.path: empty directory name");
  }
  std::error_code ec;
  const bool existed = std::filesystem::exists(dir, ec);
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Error::Io(where + "cannot create the directory: " + ec.message());
  }
  // One we create is the exporter's alone (its files hold server banners); an existing one
  // keeps the mode its owner gave it.
  if (!existed && ::chmod(dir.c_str(), 0700) != 0) {
    return Error::Io(where + "cannot restrict the new directory to its owner: " + ErrnoText(errno));
  }
  FdCloser dir_fd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (dir_fd.fd < 0) {
    return Error::Io(where + "cannot open the directory: " + ErrnoText(errno));
  }
  FdCloser lock_fd{::openat(dir_fd.fd, std::string(kLockName).c_str(),
                            O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)};
  if (lock_fd.fd < 0) {
    return Error::Io(where + "cannot create " + std::string(kLockName) + ": " + ErrnoText(errno));
  }
  if (::flock(lock_fd.fd, LOCK_EX | LOCK_NB) != 0) {
    return Error::Io(
        where + (errno == EWOULDBLOCK
                     ? "in use by another smtp_exporter (" + std::string(kLockName) + " is locked)"
                     : "cannot lock " + std::string(kLockName) + ": " + ErrnoText(errno)));
  }
  if (Status writable = ProbeWritable(dir); !writable.ok()) {
    return Error::Io(where + writable.message());
  }
  // Temporary files left by a crash mid-write: never results, and ours alone (we hold the lock).
  if (Result<std::vector<std::string>> names = ListDir(dir); names.ok()) {
    for (const std::string& name : names.value()) {
      if (name.starts_with(kTempPrefix)) {
        (void)::unlinkat(dir_fd.fd, name.c_str(), 0);
      }
    }
  }
  std::unique_ptr<ResultStorage> storage(new ResultStorage(dir, dir_fd.fd, lock_fd.fd));
  dir_fd.fd = -1;
  lock_fd.fd = -1;
  return storage;
}

Status ResultStorage::Write(const std::string& domain, const CheckOptions& options,
                            const DomainObservation& observation,
                            const PostureHistory* posture, double written_at_unix) const {
  const std::string name = StoredResultFileName(domain);
  if (name.empty()) {
    return Error::InvalidArgument("the domain name is too long for a file name");
  }
  nlohmann::json doc = {
      {"format", kStoredResultFormat},
      {"format_version", kStoredResultFormatVersion},
      {"domain", domain},
      {"written_at", written_at_unix},
      {"exporter_version", kVersion},
      {"options", StoredOptionsJson(options)},
      {"observation", ToJson(observation)},
  };
  if (posture != nullptr) {
    doc["posture"] = PostureHistoryToJson(*posture);
  }
  const std::string text = DumpJson(doc, -1) + "\n";
  if (text.size() > kMaxStoredResultBytes) {
    return Error{ErrorCode::kLimitExceeded,
                 "the result is " + std::to_string(text.size() / 1024) + " KiB, over the " +
                     std::to_string(kMaxStoredResultBytes / (1024 * 1024)) + " MiB bound"};
  }
  std::string temp = dir_ + "/" + std::string(kTempPrefix) + "XXXXXX";
  const int fd = ::mkostemp(temp.data(), O_CLOEXEC);  // mode 0600
  if (fd < 0) {
    return Error::Io("cannot create a temporary file in " + dir_ + ": " + ErrnoText(errno));
  }
  Status status = WriteAll(fd, text);
  if (status.ok() && ::fsync(fd) != 0) {
    status = Error::Io("fsync: " + ErrnoText(errno));
  }
  if (::close(fd) != 0 && status.ok()) {
    status = Error::Io("close: " + ErrnoText(errno));
  }
  if (status.ok() && ::rename(temp.c_str(), (dir_ + "/" + name).c_str()) != 0) {
    status = Error::Io("rename: " + ErrnoText(errno));
  }
  if (!status.ok()) {
    (void)::unlink(temp.c_str());
    return Error{status.error().code,
                 "cannot write " + dir_ + "/" + name + ": " + status.error().message};
  }
  // The rename is durable only once the directory is synced.
  if (::fsync(dir_fd_) != 0) {
    return Error::Io("fsync " + dir_ + ": " + ErrnoText(errno));
  }
  return Status::Ok();
}

LoadReport ResultStorage::Load(const std::set<std::string>& domains) const {
  LoadReport report;
  Result<std::vector<std::string>> names = ListDir(dir_);
  if (!names.ok()) {
    report.skipped.push_back(names.error().message);
    return report;
  }
  for (const std::string& name : names.value()) {
    if (name == kLockName || name.starts_with(kTempPrefix)) {
      continue;  // ours, and never a result
    }
    const std::optional<std::string> domain = DomainOfStoredResultFileName(name);
    if (!domain) {
      report.skipped.push_back(name + ": not a result file name (ignored)");
      continue;
    }
    if (!domains.contains(*domain)) {
      continue;
    }
    Result<StoredResult> stored = Error::Internal("not read");
    try {
      Result<std::string> text = ReadBounded(dir_fd_, name);
      stored = text.ok() ? ParseStoredResult(text.value(), *domain) : text.error();
    } catch (const std::exception& e) {  // e.g. std::bad_alloc; never fatal at start-up
      stored = Error::Internal(e.what());
    }
    if (!stored.ok()) {
      report.skipped.push_back(name + ": " + stored.error().message);
      continue;
    }
    report.results.push_back(std::move(stored).value());
  }
  return report;
}

std::size_t ResultStorage::Prune(const std::set<std::string>& keep) const {
  Result<std::vector<std::string>> names = ListDir(dir_);
  if (!names.ok()) {
    return 0;
  }
  std::size_t removed = 0;
  for (const std::string& name : names.value()) {
    const std::optional<std::string> domain = DomainOfStoredResultFileName(name);
    if (domain && !keep.contains(*domain) && ::unlinkat(dir_fd_, name.c_str(), 0) == 0) {
      ++removed;
    }
  }
  return removed;
}

}  // namespace smtp_exporter
