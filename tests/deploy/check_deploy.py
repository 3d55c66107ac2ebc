#!/usr/bin/env python3
"""Checks the deployment examples, which no test could otherwise run here (no cluster, no
systemd as PID 1):

- deploy/kubernetes.yml parses (every document), each has apiVersion, kind and a name; the
  ConfigMap's smtp_exporter.yml parses and lists domains; every workload mounts that ConfigMap
  where --config.file points, listens where its probes and Service point, runs as non-root
  with a read-only root file system; the Services select the workloads' pods; a sharded
  workload's --shard=i/N has N equal to its replicas.
- deploy/smtp_exporter.service passes `systemd-analyze verify` with no complaint at all
  (verify exits 0 on unknown keys; any output is a failure here) and keeps its hardening.
- Every Prometheus configuration in docs/deployment.md (```yaml blocks with scrape_configs)
  passes `promtool check config`, relabelling included.

usage: check_deploy.py REPO_ROOT
Exit 0 when all hold, 1 with one line per problem otherwise; a missing tool is a problem.
"""
import os
import re
import subprocess
import sys
import tempfile

import yaml  # Debian: python3-yaml (scripts/dev.sh PACKAGES)

HARDENING = ["NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
             "PrivateTmp=yes", "PrivateDevices=yes", "CapabilityBoundingSet=",
             "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "DynamicUser=yes",
             "SystemCallFilter=@system-service"]


def run(args, cwd=None):
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=cwd)
    except FileNotFoundError:
        return None


def check_kubernetes(path, problems):
    with open(path, encoding="utf-8") as f:
        try:
            documents = [d for d in yaml.safe_load_all(f) if d is not None]
        except yaml.YAMLError as e:
            problems.append(f"{path}: not valid YAML: {e}")
            return
    by_kind = {}
    for i, doc in enumerate(documents):
        name = (doc.get("metadata") or {}).get("name")
        if not doc.get("apiVersion") or not doc.get("kind") or not name:
            problems.append(f"{path}: document {i + 1} lacks apiVersion, kind or metadata.name")
            continue
        by_kind.setdefault(doc["kind"], []).append(doc)
    for kind in ("ConfigMap", "Deployment", "Service"):
        if kind not in by_kind:
            problems.append(f"{path}: no {kind}")
    config_maps = {d["metadata"]["name"]: d for d in by_kind.get("ConfigMap", [])}
    for cm in config_maps.values():
        for key, text in (cm.get("data") or {}).items():
            try:
                config = yaml.safe_load(text)
            except yaml.YAMLError as e:
                problems.append(f"{path}: ConfigMap {key} is not valid YAML: {e}")
                continue
            if not isinstance(config, dict) or not isinstance(config.get("domains"), list):
                problems.append(f"{path}: ConfigMap {key} has no domains list")

    workloads = by_kind.get("Deployment", []) + by_kind.get("StatefulSet", [])
    services = by_kind.get("Service", [])
    for w in workloads:
        where = f"{path}: {w['kind']} {w['metadata']['name']}"
        spec = w["spec"]
        pod_labels = spec["template"]["metadata"]["labels"]
        if spec["selector"]["matchLabels"] != pod_labels:
            problems.append(f"{where}: selector does not match the pod labels")
        pod = spec["template"]["spec"]
        if not (pod.get("securityContext") or {}).get("runAsNonRoot"):
            problems.append(f"{where}: pod does not set runAsNonRoot")
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for c in pod["containers"]:
            args = c.get("args", [])
            flags = dict(a[2:].split("=", 1) for a in args if a.startswith("--") and "=" in a)
            config_file = flags.get("config.file", "")
            mounted = False
            for m in c.get("volumeMounts", []):
                volume = volumes.get(m["name"], {})
                cm_name = (volume.get("configMap") or {}).get("name")
                if cm_name and config_file.startswith(m["mountPath"].rstrip("/") + "/"):
                    key = config_file[len(m["mountPath"].rstrip("/")) + 1:]
                    if cm_name not in config_maps:
                        problems.append(f"{where}: mounts unknown ConfigMap {cm_name}")
                    elif key not in config_maps[cm_name].get("data", {}):
                        problems.append(f"{where}: ConfigMap {cm_name} has no key {key}")
                    mounted = True
            if not mounted:
                problems.append(f"{where}: --config.file={config_file} is not in a mounted ConfigMap")
            listen = flags.get("web.listen-address", ":10125")
            port = int(listen.rsplit(":", 1)[1])
            ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
            if port not in ports.values():
                problems.append(f"{where}: listens on {port} but declares ports {ports}")
            for probe, wanted in (("livenessProbe", "/-/healthy"), ("readinessProbe", "/-/ready")):
                get = (c.get(probe) or {}).get("httpGet") or {}
                probe_port = ports.get(get.get("port"), get.get("port"))
                if get.get("path") != wanted or probe_port != port:
                    problems.append(f"{where}: {probe} is not GET {wanted} on port {port}")
            sc = c.get("securityContext") or {}
            if not sc.get("readOnlyRootFilesystem") or sc.get("allowPrivilegeEscalation", True):
                problems.append(f"{where}: container is not read-only without privilege escalation")
            shard = flags.get("shard")
            if shard is not None:
                match = re.fullmatch(r"\$\(SHARD_INDEX\)/(\d+)", shard)
                if not match or int(match.group(1)) != spec.get("replicas"):
                    problems.append(f"{where}: --shard={shard} does not end in /replicas "
                                    f"({spec.get('replicas')})")
                envs = {e["name"] for e in c.get("env", [])}
                if "SHARD_INDEX" not in envs:
                    problems.append(f"{where}: --shard uses $(SHARD_INDEX), which is not set")
            elif w["kind"] == "Deployment" and spec.get("replicas", 1) != 1:
                problems.append(f"{where}: replicas without --shard would check every domain twice")
        selected = [s for s in services
                    if s["spec"].get("selector")
                    and all(pod_labels.get(k) == v for k, v in s["spec"]["selector"].items())]
        if not selected:
            problems.append(f"{where}: no Service selects its pods")
        for s in selected:
            for p in s["spec"]["ports"]:
                target = p.get("targetPort")
                names = {pp.get("name") for c in pod["containers"] for pp in c.get("ports", [])}
                numbers = {pp["containerPort"] for c in pod["containers"] for pp in c.get("ports", [])}
                if target not in names and target not in numbers:
                    problems.append(f"{path}: Service {s['metadata']['name']} targets port "
                                    f"{target}, which {where} does not declare")


def check_systemd(path, problems):
    with open(path, encoding="utf-8") as f:
        unit = f.read()
    lines = set(l.strip() for l in unit.splitlines())
    for setting in HARDENING:
        if setting not in lines:
            problems.append(f"{path}: lacks {setting}")
    if not re.search(r"^ExecStart=/usr/local/bin/smtp_exporter\b", unit, re.M):
        problems.append(f"{path}: ExecStart is not /usr/local/bin/smtp_exporter")
    # verify wants ExecStart's binary to exist: point it at one that does.
    with tempfile.TemporaryDirectory(prefix="smtpx-unit-") as tmp:
        copy = os.path.join(tmp, "smtp_exporter.service")
        with open(copy, "w", encoding="utf-8") as f:
            f.write(unit.replace("/usr/local/bin/smtp_exporter", "/bin/true"))
        result = run(["systemd-analyze", "verify", copy], cwd=tmp)
        if result is None:
            problems.append("systemd-analyze is not installed (Debian package systemd)")
        elif result.returncode != 0 or result.stdout.strip() or result.stderr.strip():
            problems.append(f"{path}: systemd-analyze verify: "
                            f"{(result.stdout + result.stderr).strip()}")


def check_prometheus_configs(path, problems):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    blocks = [b for b in re.findall(r"^```yaml\n(.*?)^```", text, re.S | re.M)
              if "scrape_configs:" in b]
    if len(blocks) < 3:
        problems.append(f"{path}: expected the Prometheus configurations of both modes and of "
                        f"scale-out, found {len(blocks)} ```yaml blocks with scrape_configs")
    for i, block in enumerate(blocks):
        with tempfile.TemporaryDirectory(prefix="smtpx-prom-") as tmp:
            config = os.path.join(tmp, "prometheus.yml")
            with open(config, "w", encoding="utf-8") as f:
                f.write(block)
            # rule_files: alerts.yml is the repository's; let promtool find it.
            for name in re.findall(r"^\s*-\s*(\S+\.yml)\s*$", block, re.M):
                source = os.path.join(os.path.dirname(path), "..", "dashboards",
                                      os.path.basename(name))
                if os.path.exists(source):
                    os.makedirs(os.path.dirname(os.path.join(tmp, name)), exist_ok=True)
                    with open(source, encoding="utf-8") as src, \
                            open(os.path.join(tmp, name), "w", encoding="utf-8") as dst:
                        dst.write(src.read())
            result = run(["promtool", "check", "config", config], cwd=tmp)
            if result is None:
                problems.append("promtool is not installed (Debian package prometheus)")
                return
            if result.returncode != 0:
                problems.append(f"{path}: Prometheus configuration {i + 1} fails promtool check "
                                f"config:\n{block}\n{(result.stdout + result.stderr).strip()}")


def main(argv):
    if len(argv) != 2:
        print("usage: check_deploy.py REPO_ROOT", file=sys.stderr)
        return 2
    root = argv[1]
    problems = []
    check_kubernetes(os.path.join(root, "deploy", "kubernetes.yml"), problems)
    check_systemd(os.path.join(root, "deploy", "smtp_exporter.service"), problems)
    check_prometheus_configs(os.path.join(root, "docs", "deployment.md"), problems)
    for p in problems:
        print(p)
    if problems:
        return 1
    print("OK: deploy/kubernetes.yml, deploy/smtp_exporter.service and the Prometheus "
          "configurations of docs/deployment.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
