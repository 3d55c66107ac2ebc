#!/usr/bin/python3
"""Generates a fleet world for the fleet benchmark: N mail domains with a realistic shape.

    python3 tests/benchmarks/fleet/fleet_world.py --domains 1000 --out /tmp/smtpx-fleet.X/world \\
        [--smtp-port 25] [--dns-port 25453] [--check-port PORT]

Writes, under --out (created, must not exist yet):
  dns/knot.conf.in, dns/zones/*.zone    a template for tests/lab/dns.sh (LAB_DNS_TEMPLATE_DIR):
                                        zone fleet.test (every domain and MX host) and
                                        77.127.in-addr.arpa (PTR of every MX address)
  postfix/{main,master,smtpd}.cf.in     a template for tests/lab/postfix.sh (LAB_PF_TEMPLATE_DIR),
  postfix/listeners                     made from the lab's templates plus one smtpd listener per
                                        MX address and in_flow_delay = 0
  smtp_exporter.yml                     every domain, dns_servers = the lab Knot, interval 5m
  expect.tsv                            domain, kind, allowed smtp_domain_status values
  mx_ips.txt                            the MX addresses that have a listener
  world.json                            the shape: counts per kind, listeners, endpoints
Nothing is started. Deterministic: the same N gives the same world.

The shape follows issue #17: one provider with 28% of the domains on 5 IPs, one with 20% on
8 IPs, six mid-size providers (4% each, 4 IPs each), sixteen small providers (3 IPs each),
N/100 self-hosted domains (their own IP, plus a small provider as backup MX) and
max(10, 0.35% of N) broken domains, five kinds in turn: nomx (name exists, no MX and no
address), refused (MX on an address nobody listens on), dangling (MX target NXDOMAIN),
noaddr (MX target exists without an address) and nxdomain (the domain does not exist).
Provider domains get three MX names (one address each) taken in turn from the provider's pool.
IPv4 only: the MX addresses are 127.77.0.0/16 (the whole of 127/8 is loopback on Linux, no
aliases needed); IPv6 would need an alias per address on lo, which the lab does not set up.
Names are under the reserved TLD .test; nothing here reaches outside loopback.
"""

import argparse
import json
import os
import sys

ZONE = "fleet.test"
REVERSE_ZONE = "77.127.in-addr.arpa"
SERIAL = 2026113001
LAB_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lab")

# (name, share of N, IPs). Shares are of N; the small providers take what is left.
BIG = [("ocean", 0.28, 5), ("river", 0.20, 8)]
MID = [("mid%d" % i, 0.04, 4) for i in range(1, 7)]
SMALL_PROVIDERS, SMALL_IPS = 16, 3
BROKEN_KINDS = ["nomx", "refused", "dangling", "noaddr", "nxdomain"]
# smtp_domain_status: 0 ok, 1 info, 2 warn, 3 crit, 4 error (docs/metrics.md).
HEALTHY_STATUSES = "0,1,2"
BROKEN_STATUSES = "3,4"
MX_PER_DOMAIN = 3


def shape(n):
    """Counts per group for N domains: [(provider, count, ips)], self-hosted, broken."""
    self_hosted = n // 100
    broken = max(2 * len(BROKEN_KINDS), round(n * 0.0035))
    providers = [(name, int(n * share), ips) for name, share, ips in BIG + MID]
    rest = n - sum(c for _, c, _ in providers) - self_hosted - broken
    if rest < SMALL_PROVIDERS:
        sys.exit("fleet_world: --domains %d is too small for this shape (need >= 100)" % n)
    for i in range(SMALL_PROVIDERS):
        count = rest // SMALL_PROVIDERS + (1 if i < rest % SMALL_PROVIDERS else 0)
        providers.append(("small%d" % (i + 1), count, SMALL_IPS))
    return providers, self_hosted, broken


class Allocator:
    """Hands out 127.77.X.Y addresses, X one block per group, Y from 1."""

    def __init__(self):
        self.block = 0

    def take(self, count):
        self.block += 1
        if self.block > 250 or count > 250:
            sys.exit("fleet_world: address plan exhausted")
        return ["127.77.%d.%d" % (self.block, y) for y in range(1, count + 1)]


def ptr_name(ip):
    a, b, c, d = ip.split(".")
    return "%s.%s" % (d, c)  # relative to 77.127.in-addr.arpa


def build(n):
    providers, self_hosted, broken = shape(n)
    alloc = Allocator()
    fwd = []        # zone lines, relative to fleet.test
    rev = []        # PTR lines, relative to 77.127.in-addr.arpa
    listeners = []  # MX addresses with a Postfix listener
    domains = []    # (name, kind, allowed statuses)
    endpoints = 0
    seq = 0

    def next_domain(prefix):
        nonlocal seq
        seq += 1
        return "%s%05d" % (prefix, seq)

    small_hosts = []
    for name, count, nips in providers:
        ips = alloc.take(nips)
        hosts = []
        for i, ip in enumerate(ips, 1):
            host = "mx%d.%s" % (i, name)
            fwd.append("%-24s A     %s" % (host, ip))
            rev.append("%-8s PTR   %s.%s." % (ptr_name(ip), host, ZONE))
            hosts.append(host)
        listeners.extend(ips)
        if name.startswith("small"):
            small_hosts.append(hosts[0])
        k = min(MX_PER_DOMAIN, len(hosts))
        for j in range(count):
            d = next_domain("d")
            for m in range(k):
                fwd.append("%-24s MX    %d %s" % (d, 10 * (m + 1), hosts[(j + m) % len(hosts)]))
            endpoints += k
            domains.append((d, name, HEALTHY_STATUSES))

    # Self-hosted: own MX host on its own address, a small provider as backup MX.
    own = []
    for _ in range((self_hosted + 249) // 250):
        own.extend(alloc.take(min(250, self_hosted - len(own))))
    for j in range(self_hosted):
        d = next_domain("s")
        ip = own[j]
        fwd.append("%-24s MX    10 mail.%s" % (d, d))
        fwd.append("%-24s A     %s" % ("mail." + d, ip))
        rev.append("%-8s PTR   mail.%s.%s." % (ptr_name(ip), d, ZONE))
        fwd.append("%-24s MX    20 %s" % (d, small_hosts[j % len(small_hosts)]))
        listeners.append(ip)
        endpoints += 2
        domains.append((d, "self", HEALTHY_STATUSES))

    # Broken: five kinds in turn. "refused" addresses get no listener.
    dead = alloc.take(max(1, broken))
    for j in range(broken):
        kind = BROKEN_KINDS[j % len(BROKEN_KINDS)]
        d = next_domain("b")
        if kind == "nomx":
            fwd.append('%-24s TXT   "no mail here"' % d)
        elif kind == "refused":
            fwd.append("%-24s MX    10 mx.%s" % (d, d))
            fwd.append("%-24s A     %s" % ("mx." + d, dead[j]))
            rev.append("%-8s PTR   mx.%s.%s." % (ptr_name(dead[j]), d, ZONE))
            endpoints += 1
        elif kind == "dangling":
            fwd.append("%-24s MX    10 gone.%s" % (d, d))
        elif kind == "noaddr":
            fwd.append("%-24s MX    10 mx.%s" % (d, d))
            fwd.append('%-24s TXT   "exists, no address"' % ("mx." + d))
        # nxdomain: no record at all
        domains.append((d, "broken-" + kind, BROKEN_STATUSES))

    return domains, fwd, rev, listeners, endpoints, providers, self_hosted, broken


def zone_text(origin, lines, comment):
    head = [
        "; " + comment,
        "; Generated by tests/benchmarks/fleet/fleet_world.py; do not edit.",
        "$ORIGIN %s." % origin,
        "$TTL 3600",
        "@ SOA ns.%s. hostmaster.%s. %d 3600 600 86400 60" % (ZONE, ZONE, SERIAL),
        "@ NS  ns.%s." % ZONE,
    ]
    if origin == ZONE:
        head.append("ns A 127.0.0.1")
    return "\n".join(head + lines) + "\n"


def lab_file(*parts):
    with open(os.path.join(LAB_DIR, *parts)) as f:
        return f.read()


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--domains", type=int, required=True, help="N, 100..20000")
    ap.add_argument("--out", required=True, help="directory to create")
    ap.add_argument("--smtp-port", type=int, default=25, help="Postfix listeners' port")
    ap.add_argument("--dns-port", type=int, default=25453, help="the lab Knot's port")
    ap.add_argument("--check-port", type=int, default=0,
                    help="port the exporter connects to (default: --smtp-port; the delay "
                         "proxy's port when it sits in front)")
    args = ap.parse_args()
    if not 100 <= args.domains <= 20000:
        sys.exit("fleet_world: --domains must be 100..20000")
    if os.path.exists(args.out):
        sys.exit("fleet_world: %s exists" % args.out)

    domains, fwd, rev, listeners, endpoints, providers, self_hosted, broken = build(args.domains)
    out = args.out

    # DNS template for tests/lab/dns.sh: the lab's knot.conf.in with our zones.
    knot = lab_file("dns", "knot.conf.in")
    knot = knot[:knot.index("\nzone:")] + "\nzone:\n  - domain: %s\n  - domain: %s\n" % (
        ZONE, REVERSE_ZONE)
    write(os.path.join(out, "dns", "knot.conf.in"), knot)
    write(os.path.join(out, "dns", "zones", ZONE + ".zone"),
          zone_text(ZONE, fwd, "fleet world: %d domains" % args.domains))
    write(os.path.join(out, "dns", "zones", REVERSE_ZONE + ".zone"),
          zone_text(REVERSE_ZONE, rev, "fleet world: PTR of every MX address"))

    # Postfix template for tests/lab/postfix.sh: the lab's main.cf.in with overrides appended
    # (the last setting wins), the lab's internal services plus one listener per MX address.
    main_cf = lab_file("postfix", "main.cf.in")
    if "\nrelay_domains =\n" not in main_cf:
        sys.exit("fleet_world: tests/lab/postfix/main.cf.in has no empty relay_domains line")
    # Every fleet.test domain accepts postmaster@ (relayed to discard:); anything else is refused.
    main_cf = main_cf.replace("\nrelay_domains =\n", "\nrelay_domains = %s\n" % ZONE) + """
# ---- fleet world (tests/benchmarks/fleet/fleet_world.py) ----
# relay_domains (above) is fleet.test and covers its subdomains.
parent_domain_matches_subdomains = relay_domains
# Probes leave queue files that are never delivered: no sleeping before sessions.
in_flow_delay = 0
"""
    write(os.path.join(out, "postfix", "main.cf.in"), main_cf)
    master_lab = lab_file("postfix", "master.cf.in")
    services = master_lab[master_lab.index("# internal services"):]
    master = ["# Generated by tests/benchmarks/fleet/fleet_world.py: one listener per MX address."]
    master += ["%s:@PORT@ inet n - n - - smtpd -o syslog_name=pf-fleet" % ip for ip in listeners]
    write(os.path.join(out, "postfix", "master.cf.in"), "\n".join(master) + "\n" + services)
    write(os.path.join(out, "postfix", "smtpd.conf.in"), lab_file("postfix", "smtpd.conf.in"))
    write(os.path.join(out, "postfix", "listeners"), "\n".join(listeners) + "\n")
    write(os.path.join(out, "mx_ips.txt"), "\n".join(listeners) + "\n")

    check_port = args.check_port or args.smtp_port
    yml = [
        "# Fleet world of %d domains (tests/benchmarks/fleet/fleet_world.py); defaults otherwise."
        % args.domains,
        "global:",
        "  interval: 5m",
        "  helo_name: probe.fleet.test",
        '  dns_servers: ["127.0.0.1:%d"]' % args.dns_port,
        "  port: %d" % check_port,
        "domains:",
    ] + ["  - name: %s.%s" % (d, ZONE) for d, _, _ in domains]
    write(os.path.join(out, "smtp_exporter.yml"), "\n".join(yml) + "\n")
    write(os.path.join(out, "expect.tsv"),
          "".join("%s.%s\t%s\t%s\n" % (d, ZONE, kind, ok) for d, kind, ok in domains))

    kinds = {}
    for _, kind, _ in domains:
        group = kind if kind.startswith("broken") or kind == "self" else "provider"
        kinds[group] = kinds.get(group, 0) + 1
    info = {
        "domains": len(domains),
        "listeners": len(listeners),
        "endpoints_per_domain": round(endpoints / len(domains), 2),
        "providers": [{"name": p, "domains": c, "ips": i} for p, c, i in providers],
        "self_hosted": self_hosted,
        "broken": broken,
        "kinds": kinds,
    }
    write(os.path.join(out, "world.json"), json.dumps(info, indent=1) + "\n")
    print("fleet_world: %d domains, %d listeners, %.2f endpoints per domain, %d self-hosted, "
          "%d broken -> %s" % (len(domains), len(listeners), endpoints / len(domains),
                               self_hosted, broken, out))


if __name__ == "__main__":
    main()
