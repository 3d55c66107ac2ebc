#include "probes/observation.h"

namespace smtp_exporter {

std::string_view ConnectStatusName(ConnectStatus status) {
  switch (status) {
    case ConnectStatus::kNotAttempted:
      return "not_attempted";
    case ConnectStatus::kConnected:
      return "connected";
    case ConnectStatus::kRefused:
      return "refused";
    case ConnectStatus::kTimeout:
      return "timeout";
    case ConnectStatus::kUnreachable:
      return "unreachable";
    case ConnectStatus::kNoRoute:
      return "no_route";
    case ConnectStatus::kError:
      return "error";
  }
  return "error";
}

std::string_view EndpointServiceName(EndpointService service) {
  switch (service) {
    case EndpointService::kMx:
      return "mx";
    case EndpointService::kSubmission:
      return "submission";
    case EndpointService::kSubmissions:
      return "submissions";
  }
  return "mx";
}

std::string_view ProbeOutcomeName(ProbeOutcome outcome) {
  switch (outcome) {
    case ProbeOutcome::kNotTested:
      return "not_tested";
    case ProbeOutcome::kAccepted:
      return "accepted";
    case ProbeOutcome::kRejected:
      return "rejected";
    case ProbeOutcome::kTemporary:
      return "temporary";
    case ProbeOutcome::kError:
      return "error";
  }
  return "error";
}

std::string_view TransactionChannelName(TransactionChannel channel) {
  switch (channel) {
    case TransactionChannel::kNone:
      return "none";
    case TransactionChannel::kTls:
      return "tls";
    case TransactionChannel::kPlain:
      return "plain";
    case TransactionChannel::kPlainReconnect:
      return "plain_reconnect";
  }
  return "none";
}

std::string_view FailureReasonName(FailureReason reason) {
  switch (reason) {
    case FailureReason::kTimeout:
      return "timeout";
    case FailureReason::kRefused:
      return "refused";
    case FailureReason::kUnreachable:
      return "unreachable";
    case FailureReason::kClosed:
      return "closed";
    case FailureReason::kReply4xx:
      return "reply_4xx";
    case FailureReason::kReply5xx:
      return "reply_5xx";
    case FailureReason::kTlsHandshake:
      return "tls_handshake";
    case FailureReason::kLimitExceeded:
      return "limit_exceeded";
    case FailureReason::kProtocol:
      return "protocol";
    case FailureReason::kError:
      return "error";
    case FailureReason::kNotAllowed:
      return "not_allowed";
  }
  return "error";
}

FailureReason FailureReasonFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kTimeout:
      return FailureReason::kTimeout;
    case ErrorCode::kConnectionRefused:
      return FailureReason::kRefused;
    case ErrorCode::kUnreachable:
    case ErrorCode::kNoRoute:
      return FailureReason::kUnreachable;
    case ErrorCode::kConnectionClosed:
      return FailureReason::kClosed;
    case ErrorCode::kTls:
      return FailureReason::kTlsHandshake;
    case ErrorCode::kLimitExceeded:
      return FailureReason::kLimitExceeded;
    case ErrorCode::kProtocol:
      return FailureReason::kProtocol;
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kIo:
    case ErrorCode::kDns:
    case ErrorCode::kCancelled:
    case ErrorCode::kInternal:
      return FailureReason::kError;
  }
  return FailureReason::kError;
}

std::string SharedSessionSummary(const EndpointObservation& endpoint) {
  if (endpoint.session_domains <= 1) {
    return "";
  }
  std::string text = "one session served " + std::to_string(endpoint.session_domains) +
                     " domains whose MX hosts share this address";
  if (!endpoint.session_opened_for.empty()) {
    text += " (opened for " + endpoint.session_opened_for + "'s check)";
  }
  return text;
}

}  // namespace smtp_exporter
