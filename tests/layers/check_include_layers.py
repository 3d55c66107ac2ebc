#!/usr/bin/env python3
"""Enforces the one-way include direction between the project's libraries.

    config/base/ <- config/ <- probes/ <- exporter/check/ <- exporter/report/
        <- exporter/http/ <- exporter/checker/ <- exporter/daemon/ <- exporter/cmd/

Each folder may include the project headers of the folders to its left and its own, never one
to its right (exporter/version.h, generated at build time, is open to the daemon and the
commands). exporter/check/ is the pure judge shared by the daemon, the CLI and the
happyDomain checker mode, so it must not pull in an HTTP server, a logger or a metrics library
either. Usage: check_include_layers.py SOURCE_DIR. Exit 1 with one line per violation.
"""
import pathlib
import re
import sys

# The layers, left to right (folders relative to the source root). A file belongs to the
# longest folder its path starts with, so config/base/x.h is in config/base, not in config.
LAYERS = [
    "config/base",
    "config",
    "probes",
    "exporter/check",
    "exporter/report",
    "exporter/http",
    "exporter/checker",
    "exporter/daemon",
    "exporter/cmd",
]
GENERATED = {"exporter/daemon": ["exporter/version.h"], "exporter/cmd": ["exporter/version.h"]}
# Third-party headers a layer must not include (the judge stays free of I/O frameworks).
FORBIDDEN_SYSTEM = {
    "config/base": ["httplib.h", "spdlog/", "prometheus/", "yaml-cpp/", "ares.h", "openssl/",
                    "nlohmann/"],
    "config": ["httplib.h", "prometheus/", "nlohmann/"],
    "exporter/check": ["httplib.h", "spdlog/", "prometheus/", "yaml-cpp/", "ares.h", "openssl/"],
    # Renderers are pure: no HTTP server, no logger, no sockets or DNS of their own.
    "exporter/report": ["httplib.h", "spdlog/", "ares.h", "openssl/", "yaml-cpp/"],
}
PROJECT_PREFIXES = ("config/", "probes/", "exporter/", "tests/")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def layer_of(relative):
    best = None
    for folder in LAYERS:
        if relative.startswith(folder + "/") and (best is None or len(folder) > len(best)):
            best = folder
    return best


def allowed(layer, header):
    """Whether a file of `layer` may include the project header `header`: judged by the
    header's own layer (its longest folder), never by a prefix, so config/base/ may not
    include config/x.h although both start with "config/"."""
    if header in GENERATED.get(layer, []):
        return True
    target = layer_of(header)
    return target is not None and target in LAYERS[: LAYERS.index(layer) + 1]


def main():
    root = pathlib.Path(sys.argv[1]).resolve()
    violations = []
    checked = 0
    paths = set()
    for folder in LAYERS:
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
                if not allowed(layer, header):
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
