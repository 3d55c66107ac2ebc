// The I/O half of probes/mta_sts.h: the TXT lookups, the policy host's addresses and the HTTPS
// policy fetch (RFC 8461 §3.3) with cpp-httplib's SSLClient, connected to the address our own
// resolver returned (set_hostname_addr_map) while SNI, Host and certificate verification use the
// policy host's name. cpp-httplib can throw: everything it does stays inside a try block here.
#include <httplib.h>
#include <openssl/x509.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <map>
#include <string>
#include <vector>

#include "config/base/quote.h"
#include "probes/mta_sts.h"

namespace smtp_exporter {
namespace {

constexpr char kPolicyPath[] = "/.well-known/mta-sts.txt";
// Addresses of the policy host tried, in answer order (A first): a hostile zone cannot make one
// check connect to many.
constexpr std::size_t kMaxPolicyAddresses = 2;

std::chrono::milliseconds Left(Deadline deadline) {
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now()));
}

TxtLookupResult ToLookup(const DnsAnswer& answer) {
  TxtLookupResult lookup;
  lookup.status = answer.status;
  lookup.error = answer.error;
  lookup.records = answer.txt;
  return lookup;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  return out;
}

// "text/plain; charset=utf-8" is text/plain (RFC 8461 §3.3 asks for that media type).
bool IsTextPlain(std::string_view content_type) {
  const std::size_t semicolon = content_type.find(';');
  std::string_view type = content_type.substr(0, semicolon);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) {
    type.remove_suffix(1);
  }
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) {
    type.remove_prefix(1);
  }
  return Lower(type) == "text/plain";
}

}  // namespace

void FetchMtaStsPolicy(const std::string& host, const IpAddress& address,
                       const PolicyFetchSettings& settings, MtaStsObservation* out) {
  const auto started = std::chrono::steady_clock::now();
  const Deadline deadline = started + settings.timeout;
  out->policy_address = address;
  out->http_status = 0;
  out->policy_body.clear();
  out->policy.reset();
  // Why the client cancelled a transfer (its own error is then just "Canceled").
  PolicyFetchStatus cancelled_as = PolicyFetchStatus::kError;
  std::string cancelled_why;
  try {
    httplib::SSLClient client(host, settings.port);
    client.set_hostname_addr_map({{host, address.ToString()}});
    client.enable_server_certificate_verification(true);
    if (!settings.ca_file.empty()) {
      client.set_ca_cert_path(settings.ca_file);
    }
    client.set_follow_location(false);  // RFC 8461 §3.3: redirects MUST NOT be followed
    client.set_keep_alive(false);
    client.set_connection_timeout(settings.timeout);
    client.set_read_timeout(settings.timeout);
    client.set_write_timeout(settings.timeout);
    const httplib::Headers headers = {{"User-Agent", "smtp_exporter (MTA-STS policy check)"}};
    auto on_response = [&](const httplib::Response& response) {
      out->http_status = response.status;
      if (response.status != 200) {
        cancelled_as = PolicyFetchStatus::kHttpStatus;
        cancelled_why = "the server answered HTTP " + std::to_string(response.status) +
                        (response.status >= 300 && response.status < 400
                             ? " (a redirect; RFC 8461 §3.3 forbids following it)"
                             : "") +
                        ", not 200";
        return false;
      }
      const std::string type = response.get_header_value("Content-Type");
      if (!IsTextPlain(type)) {
        cancelled_as = PolicyFetchStatus::kMediaType;
        cancelled_why = "the media type is " + Quote(type) + ", not text/plain";
        return false;
      }
      return true;
    };
    auto on_content = [&](const char* data, std::size_t length) {
      if (out->policy_body.size() + length > kMaxPolicyBytes) {
        cancelled_as = PolicyFetchStatus::kTooLarge;
        cancelled_why = "the policy is larger than 64 KiB";
        return false;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        cancelled_as = PolicyFetchStatus::kTimeout;
        cancelled_why = "the policy was still arriving when the deadline passed";
        return false;
      }
      out->policy_body.append(data, length);
      return true;
    };
    const httplib::Result result = client.Get(kPolicyPath, headers, on_response, on_content);
    if (!result) {
      switch (result.error()) {
        case httplib::Error::Canceled:
          out->fetch_status = cancelled_as;
          out->fetch_error = cancelled_why.empty() ? "the transfer was cancelled" : cancelled_why;
          break;
        case httplib::Error::Connection:
          out->fetch_status = PolicyFetchStatus::kConnectFailed;
          out->fetch_error =
              "no connection to " + address.ToString() + " port " + std::to_string(settings.port);
          break;
        case httplib::Error::ConnectionTimeout:
          out->fetch_status = PolicyFetchStatus::kTimeout;
          out->fetch_error = "connecting to " + address.ToString() + " timed out";
          break;
        case httplib::Error::SSLServerVerification: {
          const long verify = client.get_openssl_verify_result();
          out->fetch_status = PolicyFetchStatus::kTlsFailed;
          out->fetch_error =
              "the certificate of " + host + " did not verify: " +
              (verify != X509_V_OK ? std::string(X509_verify_cert_error_string(verify))
                                   : std::string("it does not name the host"));
          break;
        }
        case httplib::Error::SSLConnection:
          out->fetch_status = PolicyFetchStatus::kTlsFailed;
          out->fetch_error = "the TLS handshake with " + address.ToString() + " failed";
          break;
        case httplib::Error::SSLLoadingCerts:
          out->fetch_status = PolicyFetchStatus::kError;
          out->fetch_error =
              "the trusted CA certificates could not be loaded" +
              (settings.ca_file.empty() ? std::string() : " from " + Quote(settings.ca_file));
          break;
        case httplib::Error::Read:
          out->fetch_status = std::chrono::steady_clock::now() - started >= settings.timeout
                                  ? PolicyFetchStatus::kTimeout
                                  : PolicyFetchStatus::kError;
          out->fetch_error = "reading the answer failed (closed or timed out)";
          break;
        default:
          out->fetch_status = PolicyFetchStatus::kError;
          out->fetch_error = "the HTTPS request failed: " + httplib::to_string(result.error());
          break;
      }
    } else {
      Result<MtaStsPolicy> policy = ParseMtaStsPolicy(out->policy_body);
      if (policy.ok()) {
        out->fetch_status = PolicyFetchStatus::kOk;
        out->fetch_error.clear();
        out->policy = std::move(policy).value();
      } else {
        out->fetch_status = PolicyFetchStatus::kInvalid;
        out->fetch_error = policy.error().message;
      }
    }
  } catch (const std::exception& e) {
    out->fetch_status = PolicyFetchStatus::kError;
    out->fetch_error = std::string("the HTTPS client failed: ") + e.what();
  }
  out->fetch_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

TransportPolicies ProbeTransportPolicies(const Resolver& resolver, const std::string& domain,
                                         const CheckOptions& options, Deadline deadline,
                                         const std::vector<IpNetwork>& denied) {
  TransportPolicies policies;
  std::vector<DnsQuery> queries;
  if (options.test_mta_sts) {
    queries.push_back({"_mta-sts." + domain, DnsType::kTxt});
  }
  if (options.test_tls_rpt) {
    queries.push_back({"_smtp._tls." + domain, DnsType::kTxt});
  }
  if (queries.empty()) {
    return policies;
  }
  // answers[0] is _mta-sts when it was asked, else _smtp._tls.
  const std::vector<DnsAnswer> answers = resolver.Resolve(queries, deadline);
  if (options.test_tls_rpt) {
    const std::size_t at = options.test_mta_sts ? 1 : 0;
    TlsRptObservation tls_rpt;
    tls_rpt.record_lookup = ToLookup(answers.at(at));
    tls_rpt.record_count = RecordsWithVersion(tls_rpt.record_lookup.records, "v=TLSRPTv1").size();
    if (Result<std::vector<std::string>> rua = SelectTlsRptRecord(tls_rpt.record_lookup.records);
        rua.ok()) {
      tls_rpt.rua = std::move(rua).value();
    } else {
      tls_rpt.record_error = rua.error().message;
    }
    policies.tls_rpt = std::move(tls_rpt);
  }
  if (!options.test_mta_sts) {
    return policies;
  }
  MtaStsObservation mta_sts;
  mta_sts.record_lookup = ToLookup(answers.at(0));
  mta_sts.record_count = RecordsWithVersion(mta_sts.record_lookup.records, "v=STSv1").size();
  mta_sts.policy_host = "mta-sts." + domain;
  if (Result<std::string> id = SelectMtaStsRecord(mta_sts.record_lookup.records); id.ok()) {
    mta_sts.record_id = std::move(id).value();
  } else {
    mta_sts.record_error = id.error().message;
  }
  // RFC 8461 §3.3: the policy is fetched only when the record announces one.
  if (!mta_sts.record_error.empty() || mta_sts.record_lookup.status != DnsStatus::kOk) {
    policies.mta_sts = std::move(mta_sts);
    return policies;
  }
  const std::vector<DnsAnswer> addresses = resolver.Resolve(
      {{mta_sts.policy_host, DnsType::kA}, {mta_sts.policy_host, DnsType::kAaaa}}, deadline);
  std::vector<IpAddress> candidates;
  for (const DnsAnswer& answer : addresses) {
    for (const IpAddress& ip : answer.addresses) {
      if (candidates.size() < kMaxPolicyAddresses) {
        candidates.push_back(ip);
      }
    }
  }
  if (candidates.empty()) {
    mta_sts.fetch_status = PolicyFetchStatus::kResolveFailed;
    mta_sts.fetch_error = mta_sts.policy_host + " has no address (A: " +
                          std::string(DnsStatusName(addresses.at(0).status)) +
                          ", AAAA: " + std::string(DnsStatusName(addresses.at(1).status)) + ")";
    policies.mta_sts = std::move(mta_sts);
    return policies;
  }
  for (const IpAddress& ip : candidates) {
    const auto network = std::find_if(denied.begin(), denied.end(),
                                      [&ip](const IpNetwork& n) { return n.Contains(ip); });
    if (network != denied.end()) {
      mta_sts.policy_address = ip;
      mta_sts.fetch_status = PolicyFetchStatus::kError;
      mta_sts.fetch_error = "address not allowed: " + ip.ToString() + " is in " +
                            network->ToString() +
                            ", a network this exporter is configured not to probe "
                            "(denied_networks); no connection was made";
      continue;
    }
    const std::chrono::milliseconds left = Left(deadline);
    if (left <= std::chrono::milliseconds(0)) {
      if (mta_sts.fetch_status == PolicyFetchStatus::kNotAttempted) {
        mta_sts.fetch_status = PolicyFetchStatus::kTimeout;
        mta_sts.fetch_error = "no time was left to fetch the policy";
      }
      break;
    }
    PolicyFetchSettings settings;
    settings.port = options.mta_sts_port;
    settings.ca_file = options.mta_sts_ca_file;
    settings.timeout = std::min({left, options.timeout, std::chrono::milliseconds(10000)});
    FetchMtaStsPolicy(mta_sts.policy_host, ip, settings, &mta_sts);
    // Only a failure to reach this address is worth trying the next one for; an answer (good
    // or bad) is the policy host's answer.
    if (mta_sts.fetch_status != PolicyFetchStatus::kConnectFailed &&
        mta_sts.fetch_status != PolicyFetchStatus::kTimeout) {
      break;
    }
  }
  policies.mta_sts = std::move(mta_sts);
  return policies;
}

}  // namespace smtp_exporter
