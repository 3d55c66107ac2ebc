#include "probes/dns_observation.h"

namespace smtp_exporter {

std::string_view DnsStatusName(DnsStatus status) {
  switch (status) {
    case DnsStatus::kNotQueried:
      return "not_queried";
    case DnsStatus::kOk:
      return "ok";
    case DnsStatus::kNoData:
      return "nodata";
    case DnsStatus::kNxDomain:
      return "nxdomain";
    case DnsStatus::kServFail:
      return "servfail";
    case DnsStatus::kRefused:
      return "refused";
    case DnsStatus::kTimeout:
      return "timeout";
    case DnsStatus::kError:
      return "error";
  }
  return "error";
}

bool IsDnsFailure(DnsStatus status) {
  return status == DnsStatus::kServFail || status == DnsStatus::kRefused ||
         status == DnsStatus::kTimeout || status == DnsStatus::kError;
}

}  // namespace smtp_exporter
