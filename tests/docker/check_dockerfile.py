#!/usr/bin/env python3
"""Checks what can be checked of the Dockerfile without a Docker engine (none on CI machines).

1. Every package the Dockerfile installs exists in Debian 12: `apt-cache policy PKG` shows a
   Candidate that is not "(none)" (this machine's apt lists are Debian 12's: checked too).
2. The image builds the way CI does: the build stage installs only packages CI installs too
   (PACKAGES in scripts/dev.sh), builds by calling `scripts/dev.sh build` (the function CI's
   `scripts/dev.sh test` builds with, so compiler flags cannot drift apart) and never runs cmake
   itself, runs the unit tests with --no-tests=error, and copies the binary from the directory
   dev.sh builds into.
3. The runtime stage has what the binary needs: every shared library the built binary links
   (ldd) comes from a package the runtime stage installs, one of their dependencies, or the
   base image; plus a non-root USER, EXPOSE, ENTRYPOINT and a HEALTHCHECK that uses the
   `smtp_exporter healthcheck` sub-command (the slim image has no curl).

usage: check_dockerfile.py REPO_ROOT [BUILT_BINARY]
Exit status 0 when all hold, 1 with one line per problem otherwise (a missing tool is a
problem, never a skip).
"""
import os
import re
import shlex
import subprocess
import sys

# Packages in debian:bookworm-slim (the minbase variant: Essential packages, apt and their
# libraries) that a binary may link; the runtime stage need not install these.
BASE_IMAGE_PACKAGES = {
    "libc6", "libgcc-s1", "libstdc++6", "zlib1g", "libzstd1", "liblzma5", "libbz2-1.0",
    "liblz4-1", "libudev1", "libsystemd0", "libxxhash0", "libgcrypt20", "libgpg-error0",
    "libcrypt1", "libselinux1", "libpcre2-8-0", "libgnutls30", "libgmp10", "libnettle8",
    "libhogweed6", "libidn2-0", "libunistring2", "libp11-kit0", "libtasn1-6", "libffi8",
    "libseccomp2", "libacl1", "libattr1", "libmd0", "libtinfo6", "libdb5.3", "libaudit1",
    "libcap-ng0", "libcap2",
}


def run(args):
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        return None


def stages(dockerfile_text):
    """[(stage name, [instruction lines])] with continuation lines joined."""
    text = re.sub(r"\\\n", " ", dockerfile_text)
    result = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword = line.split(None, 1)[0].upper()
        if keyword == "FROM":
            result.append((line, []))
        elif result:
            result[-1][1].append(line)
    return result


def installed_packages(instructions):
    """Package names given to `apt-get install` in RUN instructions."""
    packages = []
    for line in instructions:
        if not line.upper().startswith("RUN "):
            continue
        for command in re.split(r"&&|;|\|\|", line[4:]):
            words = shlex.split(command)
            words = [w for w in words if "=" not in w or w.startswith("-")]  # drop VAR=value
            if len(words) >= 2 and words[0] in ("apt-get", "apt") and "install" in words:
                after = words[words.index("install") + 1:]
                packages += [w for w in after if not w.startswith("-")]
    return packages


def dev_sh_packages(dev_sh_text):
    match = re.search(r"^PACKAGES=\((.*?)^\)", dev_sh_text, re.S | re.M)
    if not match:
        return None
    body = re.sub(r"#.*", "", match.group(1))
    return set(body.split())


def apt_candidate(package):
    result = run(["apt-cache", "policy", package])
    if result is None:
        return None, "apt-cache is not installed"
    match = re.search(r"^\s*Candidate:\s*(\S+)", result.stdout, re.M)
    if not match or match.group(1) == "(none)":
        return None, f"no candidate in this machine's apt lists ({result.stdout.strip() or 'unknown package'})"
    return match.group(1), None


def dependency_closure(packages):
    result = run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                  "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances",
                  "--no-pre-depends"] + sorted(packages))
    if result is None or result.returncode != 0:
        return None
    closure = set(packages)
    for line in result.stdout.splitlines():
        match = re.match(r"^\s*(?:\|)?Depends:\s*<?([^\s>:]+)", line)
        if match:
            closure.add(match.group(1))
        elif line and not line.startswith(" "):
            closure.add(line.strip().split(":")[0])
    return closure


def linked_packages(binary, problems):
    """Debian packages owning the shared libraries `binary` links."""
    ldd = run(["ldd", binary])
    if ldd is None or ldd.returncode != 0:
        problems.append(f"ldd {binary} failed")
        return {}
    owners = {}
    for line in ldd.stdout.splitlines():
        match = re.match(r"^\s*(\S+) => (/\S+)", line)
        if not match:
            continue
        library, path = match.groups()
        real = os.path.realpath(path)
        owner = None
        for candidate in (path, real, re.sub(r"^/lib/", "/usr/lib/", path),
                          re.sub(r"^/lib/", "/usr/lib/", real)):
            found = run(["dpkg-query", "-S", candidate])
            if found is not None and found.returncode == 0:
                owner = found.stdout.split(":")[0].strip()
                break
        if owner is None:
            problems.append(f"{binary} links {library} ({path}), which no Debian package owns")
        else:
            owners[library] = owner
    return owners


def main(argv):
    if len(argv) not in (2, 3):
        print("usage: check_dockerfile.py REPO_ROOT [BUILT_BINARY]", file=sys.stderr)
        return 2
    root = argv[1]
    binary = argv[2] if len(argv) == 3 else None
    problems = []
    with open(os.path.join(root, "Dockerfile"), encoding="utf-8") as f:
        dockerfile = f.read()
    with open(os.path.join(root, "scripts", "dev.sh"), encoding="utf-8") as f:
        dev_sh = f.read()

    with open("/etc/os-release", encoding="utf-8") as f:
        os_release = f.read()
    if "VERSION_CODENAME=bookworm" not in os_release:
        problems.append("this machine is not Debian 12 (bookworm): apt-cache cannot vouch for "
                        "the image's packages here")

    all_stages = stages(dockerfile)
    if len(all_stages) != 2:
        problems.append(f"Dockerfile: expected 2 stages (build, runtime), found {len(all_stages)}")
        for p in problems:
            print(p)
        return 1
    (build_from, build), (runtime_from, runtime) = all_stages
    if not re.match(r"FROM debian:bookworm\s+AS\s+\w+", build_from, re.I):
        problems.append(f"Dockerfile: the build stage is not debian:bookworm: {build_from}")
    if not re.match(r"FROM debian:bookworm-slim\b", runtime_from, re.I):
        problems.append(f"Dockerfile: the runtime stage is not debian:bookworm-slim: {runtime_from}")

    # 1. Every package exists in Debian 12.
    build_packages = installed_packages(build)
    runtime_packages = installed_packages(runtime)
    if not build_packages or not runtime_packages:
        problems.append("Dockerfile: found no apt-get install in one of the stages")
    for package in build_packages + runtime_packages:
        version, error = apt_candidate(package)
        if error:
            problems.append(f"Dockerfile installs {package}: {error}")

    # 2. Built the way CI builds.
    ci_packages = dev_sh_packages(dev_sh)
    if ci_packages is None:
        problems.append("scripts/dev.sh: no PACKAGES=( ... ) list")
    else:
        for package in sorted(set(build_packages) - ci_packages):
            problems.append(f"Dockerfile build stage installs {package}, which CI does not "
                            "(add it to PACKAGES in scripts/dev.sh)")
    build_runs = " && ".join(l[4:] for l in build if l.upper().startswith("RUN "))
    if not re.search(r"\bscripts/dev\.sh build\b", build_runs):
        problems.append("Dockerfile build stage does not build with `scripts/dev.sh build`")
    commands = [c.split() for c in re.split(r"&&|;|\|\|", build_runs)]
    if any(words and words[0] == "cmake" for words in commands):
        problems.append("Dockerfile build stage runs cmake itself; build through "
                        "`scripts/dev.sh build` so the flags stay CI's")
    if not re.search(r"\bbuild\)\s*build build\s*;;", dev_sh):
        problems.append("scripts/dev.sh: `build` no longer builds into ./build (the Dockerfile "
                        "copies the binary from there)")
    if not re.search(r"^\s*build build\s*$", dev_sh, re.M):
        problems.append("scripts/dev.sh: CI's test command no longer calls `build build`")
    if not re.search(r"ctest --test-dir build -L unit\b.*--no-tests=error", build_runs):
        problems.append("Dockerfile build stage does not run the unit tests with "
                        "`ctest --test-dir build -L unit ... --no-tests=error`")
    if "COPY --from=build /src/build/exporter/smtp_exporter " not in "\n".join(runtime):
        problems.append("Dockerfile runtime stage does not copy /src/build/exporter/smtp_exporter")

    # 3. The runtime stage.
    runtime_text = "\n".join(runtime)
    user = re.search(r"^USER\s+(\S+)", runtime_text, re.M)
    if not user or user.group(1) in ("root", "0"):
        problems.append("Dockerfile runtime stage does not switch to a non-root USER")
    if not re.search(r"^EXPOSE\s+10125\b", runtime_text, re.M):
        problems.append("Dockerfile runtime stage does not EXPOSE 10125")
    if not re.search(r"^ENTRYPOINT\s+\[\"/usr/local/bin/smtp_exporter\"\]", runtime_text, re.M):
        problems.append("Dockerfile runtime stage has no ENTRYPOINT [\"/usr/local/bin/smtp_exporter\"]")
    if not re.search(r"^HEALTHCHECK\s.*CMD\s+\[\"/usr/local/bin/smtp_exporter\",\s*\"healthcheck\"",
                     runtime_text, re.M):
        problems.append("Dockerfile has no HEALTHCHECK running `smtp_exporter healthcheck`")
    if binary:
        closure = dependency_closure(runtime_packages)
        if closure is None:
            problems.append("apt-cache depends failed on the runtime packages")
        else:
            for library, owner in sorted(linked_packages(binary, problems).items()):
                if owner not in closure and owner not in BASE_IMAGE_PACKAGES:
                    problems.append(f"the binary links {library} from {owner}, which the "
                                    "runtime stage does not install (nor any dependency of it)")

    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"OK: {len(build_packages)} build and {len(runtime_packages)} runtime packages exist "
          "in Debian 12; the image builds with scripts/dev.sh build like CI"
          + ("; every library the binary links is in the runtime stage" if binary else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
