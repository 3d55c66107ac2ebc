#!/usr/bin/env python3
"""Enforces the one-way include direction between the project's libraries.

    config/  <-  probes/  <-  exporter/check/  <-  exporter/ (reports, daemon, commands)

Each folder may include the project headers of the folders to its left and its own, never one
to its right. exporter/check/ is the pure judge shared by the daemon, the CLI and the
happyDomain checker mode, so it must not pull in an HTTP server, a logger or a metrics library
either. Usage: check_include_layers.py SOURCE_DIR. Exit 1 with one line per violation.
"""
import pathlib
import re
import sys

# Folder (relative to the source root) -> project include prefixes it may use. Longest folder
# match wins, so exporter/check/ is judged by its own line, not by exporter/'s.
ALLOWED = {
    "config": ["config/"],
    "probes": ["config/", "probes/"],
    "exporter/check": ["config/", "probes/", "exporter/check/"],
    "exporter": ["config/", "probes/", "exporter/"],
}
# Third-party headers a layer must not include (the judge stays free of I/O frameworks).
FORBIDDEN_SYSTEM = {
    "exporter/check": ["httplib.h", "spdlog/", "prometheus/", "yaml-cpp/", "ares.h", "openssl/"],
    "config": ["httplib.h", "prometheus/", "nlohmann/"],
}
PROJECT_PREFIXES = ("config/", "probes/", "exporter/", "tests/")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def layer_of(relative):
    best = None
    for folder in ALLOWED:
        if relative.startswith(folder + "/") and (best is None or len(folder) > len(best)):
            best = folder
    return best


def main():
    root = pathlib.Path(sys.argv[1]).resolve()
    violations = []
    checked = 0
    paths = set()
    for folder in ALLOWED:
        paths.update(root.glob(folder + "/**/*"))
    for path in sorted(paths):
        if path.suffix not in (".h", ".cc") or not path.is_file():
            continue
        relative = path.relative_to(root).as_posix()
        layer = layer_of(relative)
        if layer is None:
            continue
        checked += 1
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = INCLUDE.match(line)
            if not match:
                continue
            header = match.group(2)
            if header.startswith(PROJECT_PREFIXES):
                if not any(header.startswith(prefix) for prefix in ALLOWED[layer]):
                    violations.append(f"{relative}:{number}: {layer}/ must not include \"{header}\"")
            for forbidden in FORBIDDEN_SYSTEM.get(layer, []):
                if header.startswith(forbidden):
                    violations.append(f"{relative}:{number}: {layer}/ must not include <{header}>")
    for violation in violations:
        print(violation)
    if checked == 0:
        print(f"no source file found under {root}")
        return 1
    print(f"{checked} files checked, {len(violations)} layering violation(s)")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
