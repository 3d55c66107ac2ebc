#!/usr/bin/env python3
"""Checks that the dashboard and the alert rules only use series the exporter really exposes.

Every metric name in the PromQL of dashboards/smtp_exporter.json (panel targets and template
variables) and of dashboards/alerts.yml must be a family of the metrics golden file
(tests/testdata/metrics/full.prom, the authoritative list), every label they name (matchers,
by/without/on/ignoring, label_values, legend and annotation templates) a label of that file or
a target label Prometheus adds, and every function a PromQL function. It also checks the
conventions of this repository: the dashboard's datasource and domain variables, and that each
alert has a summary, a description naming the fix and a report_url.

Before the files, the checker runs its self-test on known-bad expressions, so a tokenizer that
stopped finding names fails loudly instead of passing everything.

usage: check_metric_names.py GOLDEN_PROM DASHBOARD_JSON ALERTS_YML
Exit status 0 if everything is known, 1 with one line per problem otherwise.
"""
import json
import re
import sys

import yaml  # Debian: python3-yaml (scripts/dev.sh PACKAGES)

# Labels Prometheus attaches to every scraped series (and the exporter_url target label that
# docs/deployment.md suggests for report links); not in the golden file, which is /metrics.
TARGET_LABELS = {"job", "instance", "exporter_url"}

PROMQL_FUNCTIONS = {
    # aggregations
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
    "bottomk", "topk", "quantile",
    # functions (Prometheus 2.x)
    "abs", "absent", "absent_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min",
    "day_of_month", "day_of_week", "day_of_year", "days_in_month", "delta", "deriv", "exp",
    "floor", "histogram_count", "histogram_sum", "histogram_fraction", "histogram_quantile",
    "holt_winters", "hour", "idelta", "increase", "irate", "label_join", "label_replace", "ln",
    "log2", "log10", "minute", "month", "predict_linear", "rate", "resets", "round", "scalar",
    "sgn", "sort", "sort_desc", "sqrt", "time", "timestamp", "vector", "year",
    "avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "count_over_time",
    "quantile_over_time", "stddev_over_time", "stdvar_over_time", "last_over_time",
    "present_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh", "cos", "cosh",
    "sin", "sinh", "tan", "tanh", "deg", "rad", "pi",
}
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
            "group_left", "group_right", "inf", "nan", "atan2"}

STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
MATCHERS_RE = re.compile(r"\{([^{}]*)\}")
MATCHER_LABEL_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)")
GROUPING_RE = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)")
RANGE_RE = re.compile(r"\[[^\]]*\]")
GRAFANA_VAR_RE = re.compile(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*")
IDENT_RE = re.compile(r"(?<![\w.:$])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?")
LABEL_VALUES_RE = re.compile(r"^\s*label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$", re.S)
LEGEND_LABEL_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
TEMPLATE_LABEL_RE = re.compile(r"\$labels\.([A-Za-z_][A-Za-z0-9_]*)")


def load_golden(path):
    """Metric families and label names of the exposition-format golden file."""
    metrics, labels = set(), set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("# TYPE "):
                metrics.add(line.split()[2])
            elif line and not line.startswith("#"):
                labels.update(re.findall(r'([A-Za-z_][A-Za-z0-9_]*)="', line.split("} ")[0]))
    return metrics, labels


def analyse(expr):
    """(metric names, label names, function names) used by one PromQL expression."""
    metrics, labels, functions = set(), set(), set()
    text = STRING_RE.sub('""', expr)
    text = GRAFANA_VAR_RE.sub("1m", text)  # $__rate_interval and friends stand in durations
    for body in MATCHERS_RE.findall(text):
        for label in MATCHER_LABEL_RE.findall(body):
            if label != "__name__":
                labels.add(label)
    text = MATCHERS_RE.sub(" ", text)
    for _, names in GROUPING_RE.findall(text):
        labels.update(n.strip() for n in names.split(",") if n.strip())
    text = GROUPING_RE.sub(" ", text)
    text = RANGE_RE.sub(" ", text)
    for name, call in IDENT_RE.findall(text):
        if call:
            functions.add(name)
        elif name not in KEYWORDS:
            metrics.add(name)
    return metrics, labels, functions


class Checker:
    def __init__(self, known_metrics, known_labels):
        self.known_metrics = known_metrics
        self.known_labels = known_labels | TARGET_LABELS
        self.problems = []
        self.used_metrics = set()

    def expr(self, where, expr):
        metrics, labels, functions = analyse(expr)
        self.used_metrics |= metrics
        for m in sorted(metrics - self.known_metrics):
            self.problems.append(f"{where}: unknown metric {m} in: {expr}")
        for l in sorted(labels - self.known_labels):
            self.problems.append(f"{where}: unknown label {l} in: {expr}")
        for fn in sorted(functions - PROMQL_FUNCTIONS):
            self.problems.append(f"{where}: unknown PromQL function {fn}() in: {expr}")

    def labels_in(self, where, names):
        for l in sorted(set(names) - self.known_labels):
            self.problems.append(f"{where}: unknown label {l} in a template")

    def variable_query(self, where, query):
        match = LABEL_VALUES_RE.match(query)
        if match:
            self.expr(where, match.group(1))
            self.labels_in(where, [match.group(2)])
        else:
            self.expr(where, query)


def check_dashboard(checker, path):
    with open(path, encoding="utf-8") as f:
        dashboard = json.load(f)
    variables = {v.get("name"): v for v in dashboard.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        checker.problems.append(f"{path}: needs a `datasource` variable of type datasource, "
                                "query prometheus")
    domain = variables.get("domain")
    domain_query = domain.get("query") if domain else None
    if isinstance(domain_query, dict):
        domain_query = domain_query.get("query")
    if not domain or domain.get("type") != "query" or not LABEL_VALUES_RE.match(
            domain_query or "") or LABEL_VALUES_RE.match(domain_query).group(2) != "domain":
        checker.problems.append(f"{path}: needs a `domain` query variable from "
                                "label_values(..., domain)")
    for name, variable in variables.items():
        if variable.get("type") != "query":
            continue
        query = variable.get("query")
        if isinstance(query, dict):
            query = query.get("query", "")
        checker.variable_query(f"{path}: variable {name}", query)

    def panels(items):
        for p in items:
            yield p
            yield from panels(p.get("panels", []))

    for panel in panels(dashboard.get("panels", [])):
        where = f"{path}: panel {panel.get('title')!r}"
        for target in panel.get("targets", []):
            checker.expr(where, target.get("expr", ""))
            checker.labels_in(where, LEGEND_LABEL_RE.findall(target.get("legendFormat", "")))


REQUIRED_ALERTS = {
    "SmtpOpenRelay", "SmtpNoStarttls", "SmtpAuthOverPlaintext", "SmtpPostmasterRejected",
    "SmtpNullSenderRejected", "SmtpMxUnreachable", "SmtpCheckFailing",
    "SmtpExporterConfigReloadFailed",
}


def check_alerts(checker, path):
    with open(path, encoding="utf-8") as f:
        rules = yaml.safe_load(f)
    seen = set()
    for group in rules.get("groups", []):
        for rule in group.get("rules", []):
            name = rule.get("alert") or rule.get("record")
            where = f"{path}: {name}"
            checker.expr(where, rule["expr"])
            seen.add(name)
            if "alert" not in rule:
                continue
            annotations = rule.get("annotations", {})
            for key in ("summary", "description", "report_url"):
                if not annotations.get(key):
                    checker.problems.append(f"{where}: no {key} annotation")
            if "Fix:" not in annotations.get("description", ""):
                checker.problems.append(f"{where}: the description does not name the fix (Fix:)")
            if not name.startswith("SmtpExporter") and "/report?domain={{ $labels.domain }}" \
                    not in annotations.get("report_url", ""):
                checker.problems.append(f"{where}: report_url does not link /report?domain=")
            if rule.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
                checker.problems.append(f"{where}: severity label is not critical/warning/info")
            for text in annotations.values():
                checker.labels_in(where, TEMPLATE_LABEL_RE.findall(text))
    for missing in sorted(REQUIRED_ALERTS - seen):
        checker.problems.append(f"{path}: alert {missing} is missing")


def self_test(known_metrics, known_labels):
    """The checker must flag what it exists to flag; returns problems of the checker itself."""
    failures = []
    cases = [
        ('smtp_open_relays == 1', "unknown metric smtp_open_relays"),
        ('sum by (domian) (smtp_open_relay)', "unknown label domian"),
        ('smtp_open_relay{domian="x"} == 1', "unknown label domian"),
        ('cont(smtp_open_relay)', "unknown PromQL function cont()"),
        ('rate(smtp_exporter_check_total[$__rate_interval])', "unknown metric smtp_exporter_check_total"),
        ('smtp_open_relay == 1 unless on (domain) smtp_null_mxx', "unknown metric smtp_null_mxx"),
    ]
    for expr, expected in cases:
        c = Checker(known_metrics, known_labels)
        c.expr("self-test", expr)
        if not any(expected in p for p in c.problems):
            failures.append(f"self-test: {expr!r} did not report {expected!r}: {c.problems}")
    good = ('count(smtp_endpoints{job=~"$job",domain=~"$domain",family="ipv6"} > 0) / '
            'count(smtp_endpoints{family="ipv6"} unless on (domain) smtp_null_mx == 1) '
            'or vector(0) + time() - 1e3')
    c = Checker(known_metrics, known_labels)
    c.expr("self-test", good)
    if c.problems or c.used_metrics != {"smtp_endpoints", "smtp_null_mx"}:
        failures.append(f"self-test: valid expression misread: {c.problems} {c.used_metrics}")
    return failures


def main(argv):
    if len(argv) != 4:
        print("usage: check_metric_names.py GOLDEN_PROM DASHBOARD_JSON ALERTS_YML",
              file=sys.stderr)
        return 2
    golden, dashboard, alerts = argv[1:]
    known_metrics, known_labels = load_golden(golden)
    if len(known_metrics) < 20:
        print(f"{golden}: only {len(known_metrics)} metric families; not the golden file?",
              file=sys.stderr)
        return 1
    problems = self_test(known_metrics, known_labels)
    checker = Checker(known_metrics, known_labels)
    check_dashboard(checker, dashboard)
    check_alerts(checker, alerts)
    problems += checker.problems
    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"OK: {len(checker.used_metrics)} metric names used by the dashboard and the rules, "
          f"all in {golden}: {', '.join(sorted(checker.used_metrics))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
