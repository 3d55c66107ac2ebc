#!/usr/bin/env python3
"""Runs the Dockerfile's HEALTHCHECK commands, as written, against live and dead servers.

There is no Docker engine on these machines, so the health checks are run the way Docker would
run them, on the built binary:

- the active HEALTHCHECK (the exporter mode): its exec-form CMD, against the exporter started
  with the image's ENTRYPOINT + CMD (exit 0 expected), then against a port where nothing
  listens (exit 1 expected);
- the checker mode's commented examples: the derived image's `HEALTHCHECK ... CMD [...]`
  (exec form) and `docker run --health-cmd '...'` (a string, which Docker runs with
  `/bin/sh -c`), against the checker started with the commented `CMD ["-listen", ...]`
  (exit 0), then against a dead port (exit 1).

Each run must end within the HEALTHCHECK's own --timeout (--health-timeout), as Docker
enforces it. The commands are taken from the Dockerfile text, so editing a HEALTHCHECK there
changes what is run here. Only two things are swapped, both in every argument that carries
them: /usr/local/bin/smtp_exporter becomes the built binary, and the image's ports (10125 and
8080) become a free loopback port, because this machine is shared (other test runs may hold
10125 or 8080). The servers listen on 127.0.0.1 instead of the image's wildcard, so nothing
listens beyond loopback; the health checks keep their wildcard address (":PORT"), which the
binary rewrites to loopback as it does inside the container. The servers never need DNS for
their health routes: the exporter's config and the checker's --dns-servers point at a loopback
port where nothing answers, so no packet leaves 127.0.0.0/8.

usage: check_healthcheck.py REPO_ROOT BUILT_BINARY
Exit status 0 when every command behaved, 1 with one line per problem otherwise.
"""
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time

IMAGE_BINARY = "/usr/local/bin/smtp_exporter"
IMAGE_CONFIG = "/etc/smtp_exporter/smtp_exporter.yml"
EXPORTER_PORT = "10125"
CHECKER_PORT = "8080"
SERVER_START_LIMIT = 15.0  # seconds for a server to accept connections


def joined_instructions(lines):
    """Instruction lines with backslash continuations joined."""
    text = re.sub(r"\\\n", " ", "\n".join(lines))
    return [line.strip() for line in text.splitlines() if line.strip()]


def active_instructions(dockerfile):
    """The runtime stage's instructions (comments dropped): {keyword: [argument text]}."""
    lines = joined_instructions(l for l in dockerfile.splitlines() if not l.lstrip().startswith("#"))
    stages = []
    for line in lines:
        keyword, _, rest = line.partition(" ")
        if keyword.upper() == "FROM":
            stages.append({})
        elif stages:
            stages[-1].setdefault(keyword.upper(), []).append(rest.strip())
    return stages[-1] if stages else {}


def commented_lines(dockerfile):
    """The text of the comment lines, '#' and the indentation after it removed."""
    return [re.sub(r"^\s*#\s?", "", l).strip() for l in dockerfile.splitlines()
            if l.lstrip().startswith("#")]


def parse_duration(text):
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", text)
    if not match:
        raise ValueError(f"not a Docker duration: {text}")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "ms" else value * 60 if unit == "m" else value


def parse_healthcheck(rest):
    """HEALTHCHECK's options and exec-form CMD: (timeout seconds, [argv])."""
    options_text, sep, command = rest.partition("CMD ")
    if not sep:
        raise ValueError(f"HEALTHCHECK without CMD: {rest}")
    timeout = 30.0  # Docker's default
    for option in options_text.split():
        name, _, value = option.partition("=")
        if name == "--timeout":
            timeout = parse_duration(value)
    argv = json.loads(command.strip())
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        raise ValueError(f"HEALTHCHECK CMD is not the exec form: {command}")
    return timeout, argv


def swapped(args, binary, image_port, port):
    """The image's binary path and port replaced in every argument (see the module doc)."""
    out = []
    for arg in args:
        arg = arg.replace(IMAGE_BINARY, binary)
        arg = re.sub(rf":{image_port}\b", f":{port}", arg)
        out.append(arg)
    return out


def loopback_listen(args):
    """Server arguments with a wildcard listen address (":PORT") bound to 127.0.0.1 only."""
    return [re.sub(r"(^|=):(\d+)$", r"\g<1>127.0.0.1:\2", a) for a in args]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dead_dns_server():
    """A loopback UDP port where nothing answers: held bound (never read) while the test runs."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    return s, f"127.0.0.1:{s.getsockname()[1]}"


class Server:
    """A smtp_exporter process, stopped (SIGTERM, then SIGKILL) when the block ends."""

    def __init__(self, argv, port, log_path):
        self.argv, self.port, self.log_path = argv, port, log_path

    def __enter__(self):
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(self.argv, stdout=self.log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + SERVER_START_LIMIT
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        return self

    def listening(self):
        return self.process.poll() is None

    def output(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()[-2000:]

    def __exit__(self, *exc):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=12)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def run_health(label, command, timeout, expected, problems):
    """Runs one health command (argv list, or a string for /bin/sh -c) within `timeout`."""
    argv = command if isinstance(command, list) else ["/bin/sh", "-c", command]
    started = time.monotonic()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        problems.append(f"{label}: still running after its --timeout of {timeout:g} s: {argv}")
        return
    took = time.monotonic() - started
    if done.returncode != expected:
        problems.append(f"{label}: exit {done.returncode}, expected {expected}: {argv}\n"
                        f"  output: {(done.stdout + done.stderr).strip()[:500]}")
    else:
        print(f"ok  {label}: exit {done.returncode} in {took:.2f} s (limit {timeout:g} s)")


def main(argv):
    if len(argv) != 3:
        print("usage: check_healthcheck.py REPO_ROOT BUILT_BINARY", file=sys.stderr)
        return 2
    root, binary = argv[1], os.path.abspath(argv[2])
    problems = []
    with open(os.path.join(root, "Dockerfile"), encoding="utf-8") as f:
        dockerfile = f.read()
    if not os.access(binary, os.X_OK):
        print(f"not an executable: {binary}")
        return 1

    runtime = active_instructions(dockerfile)
    comments = joined_instructions(commented_lines(dockerfile))
    try:
        exporter_timeout, exporter_health = parse_healthcheck(runtime["HEALTHCHECK"][-1])
        entrypoint = json.loads(runtime["ENTRYPOINT"][-1])
        exporter_cmd = json.loads(runtime["CMD"][-1])
        checker_examples = [parse_healthcheck(l.partition(" ")[2]) for l in comments
                            if l.startswith("HEALTHCHECK ")]
        checker_cmd = [json.loads(l.partition(" ")[2]) for l in comments if l.startswith("CMD ")]
        run_lines = [l for l in comments if l.startswith("docker run --health-cmd")]
    except (KeyError, ValueError, IndexError) as e:
        print(f"Dockerfile: cannot read the HEALTHCHECK instructions: {e!r}")
        return 1
    if len(checker_examples) != 1 or len(checker_cmd) != 1 or len(run_lines) != 1:
        print("Dockerfile: expected one commented checker-mode HEALTHCHECK, one commented CMD and "
              f"one `docker run --health-cmd` example; found {len(checker_examples)}, "
              f"{len(checker_cmd)}, {len(run_lines)}")
        return 1
    # `docker run --health-cmd '...' --health-timeout 3s ... IMAGE -listen :8080`, as a shell
    # would split it.
    run_words = shlex.split(run_lines[0])
    health_cmd = run_words[run_words.index("--health-cmd") + 1]
    health_cmd_timeout = parse_duration(run_words[run_words.index("--health-timeout") + 1])
    checker_timeout, checker_health = checker_examples[0]
    for label, args in (("exporter HEALTHCHECK", exporter_health),
                        ("checker HEALTHCHECK", checker_health),
                        ("checker --health-cmd", shlex.split(health_cmd))):
        if not args or args[0] != IMAGE_BINARY:
            problems.append(f"{label} does not run {IMAGE_BINARY}: {args}")
    if not any(a.endswith(f":{EXPORTER_PORT}") for a in exporter_health):
        problems.append(f"exporter HEALTHCHECK does not ask port {EXPORTER_PORT}: {exporter_health}")
    for label, args in (("checker HEALTHCHECK", checker_health),
                        ("checker --health-cmd", shlex.split(health_cmd))):
        if not any(a.endswith(f":{CHECKER_PORT}") for a in args):
            problems.append(f"{label} does not ask port {CHECKER_PORT}: {args}")
    if problems:
        for p in problems:
            print(p)
        return 1

    dns_socket, dead_dns = dead_dns_server()
    with tempfile.TemporaryDirectory(prefix="smtpx-healthcheck-") as tmp:
        # The exporter mode: the image's config has real resolvers; this one asks a dead
        # loopback port (the exporter mode takes resolvers from its config, not a flag).
        config = os.path.join(tmp, "smtp_exporter.yml")
        with open(config, "w") as f:
            f.write("global:\n"
                    f"  dns_servers: [\"{dead_dns}\"]\n"
                    "  dns_timeout: 1s\n"
                    "domains:\n"
                    "  - name: good.lab.test\n")
        port = free_port()
        server_args = loopback_listen(
            swapped([a.replace(IMAGE_CONFIG, config) for a in entrypoint + exporter_cmd],
                    binary, EXPORTER_PORT, port))
        health = swapped(exporter_health, binary, EXPORTER_PORT, port)
        with Server(server_args, port, os.path.join(tmp, "exporter.log")) as server:
            if not server.listening():
                problems.append(f"the exporter did not start: {server_args}\n{server.output()}")
            else:
                run_health("exporter HEALTHCHECK, live exporter", health, exporter_timeout, 0,
                           problems)
        run_health("exporter HEALTHCHECK, dead port", health, exporter_timeout, 1, problems)

        # The checker mode.
        port = free_port()
        server_args = (loopback_listen(swapped(entrypoint + checker_cmd[0], binary, CHECKER_PORT,
                                               port)) + ["--dns-servers", dead_dns])
        checks = [("checker HEALTHCHECK", swapped(checker_health, binary, CHECKER_PORT, port),
                   checker_timeout),
                  # The string as written, for /bin/sh -c: only the path and port differ.
                  ("checker --health-cmd",
                   swapped([health_cmd], shlex.quote(binary), CHECKER_PORT, port)[0],
                   health_cmd_timeout)]
        with Server(server_args, port, os.path.join(tmp, "checker.log")) as server:
            if not server.listening():
                problems.append(f"the checker did not start: {server_args}\n{server.output()}")
            else:
                for label, command, timeout in checks:
                    run_health(f"{label}, live checker", command, timeout, 0, problems)
        for label, command, timeout in checks:
            run_health(f"{label}, dead port", command, timeout, 1, problems)
    dns_socket.close()

    for p in problems:
        print(p)
    if problems:
        return 1
    print("OK: the exporter's HEALTHCHECK and the checker mode's two examples pass against a "
          "live server and fail against a dead port, within their timeouts")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
