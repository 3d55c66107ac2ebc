// Error, Status and Result<T>: the one way our APIs report failure, from the network edge
// (a refused connection) to start-up (a bad config key) and the HTTP routes (a bad /probe
// parameter). No exceptions cross an API (g++ 12 has no std::expected). A check of a value
// that has no result but may be wrong returns Status; a parse returns Result<T>. The message
// is for people: one line, saying what is wrong and, where it helps, what would be right.
// Plain value types; thread-compatible (no shared state).
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace smtp_exporter {

enum class ErrorCode {
  kInvalidArgument,    // our caller passed something unusable (e.g. CR/LF in a command)
  kTimeout,            // a deadline passed
  kConnectionRefused,  // TCP RST on connect
  kUnreachable,        // no route to the network or host (an ICMP error from the path)
  kNoRoute,            // this host has no route: connect() failed before a packet left
  kConnectionClosed,   // the peer closed the connection
  kIo,                 // any other socket error
  kTls,                // TLS handshake or record failure
  kProtocol,           // the peer broke the protocol (malformed reply, ...)
  kLimitExceeded,      // the peer exceeded one of our safety bounds
  kDns,                // a DNS lookup failed
  kCancelled,          // the exporter is shutting down
  kInternal,           // a bug or an unexpected library failure
};

// Stable lowercase name, used in JSON and logs ("timeout", "connection_refused", ...).
std::string_view ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  // Factories for the codes raised outside the network edge (leveldb's Status::InvalidArgument
  // style), so call sites say what happened rather than build the struct.
  static Error InvalidArgument(std::string message) {
    return Error{ErrorCode::kInvalidArgument, std::move(message)};
  }
  static Error Io(std::string message) { return Error{ErrorCode::kIo, std::move(message)}; }
  static Error Internal(std::string message) {
    return Error{ErrorCode::kInternal, std::move(message)};
  }

  // "timeout: no reply within 12s"
  std::string ToString() const;
};

// A success, or an Error. Check ok() before using error().
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design
  static Status Ok() { return Status(); }

  bool ok() const { return !error_.has_value(); }
  const Error& error() const {
    assert(error_.has_value());
    return *error_;
  }
  // The message of a failure; "" for success. For callers that only report.
  const std::string& message() const {
    static const std::string kNone;
    return error_ ? error_->message : kNone;
  }

 private:
  std::optional<Error> error_;
};

// A value of type T, or an Error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(state_); }

  T& value() & {
    assert(ok());
    return std::get<T>(state_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<T>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(state_));
  }
  const Error& error() const {
    assert(!ok());
    return std::get<Error>(state_);
  }
  Status status() const { return ok() ? Status::Ok() : Status(error()); }
  // The message of a failure; "" for success.
  const std::string& message() const {
    static const std::string kNone;
    return ok() ? kNone : error().message;
  }

 private:
  std::variant<T, Error> state_;
};

}  // namespace smtp_exporter
