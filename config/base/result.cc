#include "config/base/result.h"

namespace smtp_exporter {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid_argument";
    case ErrorCode::kTimeout:
      return "timeout";
    case ErrorCode::kConnectionRefused:
      return "connection_refused";
    case ErrorCode::kUnreachable:
      return "unreachable";
    case ErrorCode::kNoRoute:
      return "no_route";
    case ErrorCode::kConnectionClosed:
      return "connection_closed";
    case ErrorCode::kIo:
      return "io";
    case ErrorCode::kTls:
      return "tls";
    case ErrorCode::kProtocol:
      return "protocol";
    case ErrorCode::kLimitExceeded:
      return "limit_exceeded";
    case ErrorCode::kDns:
      return "dns";
    case ErrorCode::kCancelled:
      return "cancelled";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "internal";
}

std::string Error::ToString() const {
  std::string out(ErrorCodeName(code));
  if (!message.empty()) {
    out += ": ";
    out += message;
  }
  return out;
}

}  // namespace smtp_exporter
