#include "tests/support/observations.h"

#include <utility>

namespace smtp_exporter::testing {

IpAddress Ip(const char* text) { return IpAddress::Parse(text).value(); }

MxTarget Mx(std::uint16_t preference, const char* host, std::vector<const char*> ips) {
  MxTarget target;
  target.preference = preference;
  target.host = host;
  target.a.status = DnsStatus::kOk;
  target.aaaa.status = DnsStatus::kNoData;
  for (const char* ip : ips) {
    target.addresses.push_back(Ip(ip));
    if (Ip(ip).family() == IpFamily::kV6) {
      target.aaaa.status = DnsStatus::kOk;
    }
  }
  return target;
}

ReverseDns Reverse(const char* ip, DnsStatus status, std::vector<std::string> names,
                   std::optional<bool> fcrdns_ok) {
  ReverseDns reverse;
  reverse.ip = Ip(ip);
  reverse.ptr.status = status;
  reverse.ptr_names = std::move(names);
  reverse.fcrdns_ok = fcrdns_ok;
  if (fcrdns_ok.value_or(false)) {
    reverse.fcrdns_name = reverse.ptr_names.front();
  }
  return reverse;
}

void Plan(DomainObservation* obs) {
  for (const MxTarget& target : obs->dns.mx_targets) {
    for (const IpAddress& ip : target.addresses) {
      obs->plan.endpoints.push_back({target.host, target.preference, ip, {}});
    }
  }
}

EndpointObservation HealthyEndpoint(const std::string& domain, const std::string& mx,
                                    const char* ip) {
  EndpointObservation e;
  e.domain = domain;
  e.mx_name = mx;
  e.ip = Ip(ip);
  e.started_at_unix = 1700000000.5;
  e.connect_status = ConnectStatus::kConnected;
  e.greeting = Reply{220, {"220 " + mx + " ESMTP Postfix"}};
  e.announced_hostname = mx;
  e.greeting_mentions_esmtp = true;
  e.ehlo = Reply{250,
                 {"250-" + mx, "250-PIPELINING", "250-SIZE 10240000", "250-STARTTLS",
                  "250-ENHANCEDSTATUSCODES", "250-8BITMIME", "250 SMTPUTF8"}};
  e.esmtp = true;
  e.extensions_plain = ExtensionSet::FromEhloReply(*e.ehlo);
  e.starttls.offered = true;
  e.starttls.attempted = true;
  e.starttls.reply = Reply{220, {"220 2.0.0 Ready to start TLS"}};
  e.starttls.ok = true;
  e.starttls.tls.version = "TLSv1.3";
  e.starttls.tls.cipher = "TLS_AES_256_GCM_SHA384";
  e.starttls.tls.peer_not_after_unix = 1735689600;
  e.tls_ehlo = Reply{250,
                     {"250-" + mx, "250-PIPELINING", "250-SIZE 10240000", "250-ENHANCEDSTATUSCODES",
                      "250-8BITMIME", "250 SMTPUTF8"}};
  e.extensions_tls = ExtensionSet::FromEhloReply(*e.tls_ehlo);
  e.transactions_channel = TransactionChannel::kTls;
  e.null_sender.outcome = ProbeOutcome::kAccepted;
  e.postmaster.outcome = ProbeOutcome::kAccepted;
  e.open_relay.outcome = ProbeOutcome::kRejected;
  e.phases = {{"connect", 0.012},  {"greeting", 0.05},     {"ehlo", 0.004}, {"starttls", 0.031},
              {"tls_ehlo", 0.003}, {"transactions", 0.02}, {"total", 0.125}};
  return e;
}

EndpointObservation HealthySubmission(const std::string& domain, const std::string& host,
                                      const char* ip, std::uint16_t port) {
  EndpointObservation e = HealthyEndpoint(domain, host, ip);
  e.port = port;
  e.service = port == 465 ? EndpointService::kSubmissions : EndpointService::kSubmission;
  e.null_sender = {};
  e.postmaster = {};
  e.open_relay = {};
  e.transactions_channel = TransactionChannel::kNone;
  e.tls_ehlo =
      Reply{250, {"250-" + host, "250-PIPELINING", "250-AUTH PLAIN LOGIN", "250 8BITMIME"}};
  e.extensions_tls = ExtensionSet::FromEhloReply(*e.tls_ehlo);
  if (e.service == EndpointService::kSubmissions) {
    e.starttls.offered = false;
    e.starttls.reply.reset();
    e.ehlo.reset();
    e.extensions_plain = ExtensionSet();
    e.phases = {
        {"connect", 0.012}, {"tls", 0.03}, {"greeting", 0.01}, {"ehlo", 0.004}, {"total", 0.06}};
  } else {
    e.phases = {{"connect", 0.012},  {"greeting", 0.01},  {"ehlo", 0.004},
                {"starttls", 0.031}, {"tls_ehlo", 0.003}, {"total", 0.065}};
  }
  return e;
}

DomainObservation HealthyDomain(const std::string& domain, const std::vector<FixtureMx>& hosts) {
  DomainObservation obs;
  obs.domain = domain;
  obs.dns.domain = domain;
  obs.dns.mx.status = DnsStatus::kOk;
  for (const FixtureMx& mx : hosts) {
    std::vector<const char*> ips;
    for (const std::string& ip : mx.ips) {
      ips.push_back(ip.c_str());
      obs.dns.reverse.push_back(Reverse(ip.c_str(), DnsStatus::kOk, {mx.host}, true));
    }
    obs.dns.mx_targets.push_back(Mx(mx.preference, mx.host.c_str(), ips));
  }
  Plan(&obs);
  for (const FixtureMx& mx : hosts) {
    for (const std::string& ip : mx.ips) {
      obs.endpoints.push_back(HealthyEndpoint(domain, mx.host, ip.c_str()));
    }
  }
  return obs;
}

void WithoutStartTls(EndpointObservation* e) {
  e->ehlo = Reply{250,
                  {"250-" + e->mx_name, "250-PIPELINING", "250-SIZE 10240000",
                   "250-ENHANCEDSTATUSCODES", "250-8BITMIME", "250 SMTPUTF8"}};
  e->extensions_plain = ExtensionSet::FromEhloReply(*e->ehlo);
  e->starttls = {};
  e->tls_ehlo.reset();
  e->extensions_tls = {};
  e->transactions_channel = TransactionChannel::kPlain;
}

EndpointObservation UnreachableEndpoint(const std::string& domain, const std::string& mx,
                                        const char* ip, ConnectStatus status, std::string error) {
  EndpointObservation e;
  e.domain = domain;
  e.mx_name = mx;
  e.ip = Ip(ip);
  e.connect_status = status;
  e.connect_error = std::move(error);
  return e;
}

CheckOptions FixtureOptions() {
  CheckOptions options;
  options.helo_name = "probe.example.net";
  return options;
}

CheckResult EvaluatedFixture(DomainObservation obs) {
  return EvaluateObservation(std::move(obs), FixtureOptions());
}

}  // namespace smtp_exporter::testing
