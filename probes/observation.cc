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

}  // namespace smtp_exporter
