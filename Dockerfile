# smtp_exporter container image.
# Stage 1 builds on Debian 12 exactly as CI does: the same packages (a subset of PACKAGES in
# scripts/dev.sh) and the same build command (`scripts/dev.sh build`, which CI's
# `scripts/dev.sh test` also uses), then runs the unit tests. Stage 2 carries only the runtime
# libraries and the binary. tests/docker/check_dockerfile.py (run by ctest) keeps both true.
FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config ca-certificates \
      libssl-dev libc-ares-dev libyaml-cpp-dev libspdlog-dev libfmt-dev nlohmann-json3-dev zlib1g-dev \
      prometheus-cpp-dev libcpp-httplib-dev libgtest-dev libgmock-dev libbenchmark-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN bash scripts/dev.sh build \
 && ctest --test-dir build -L unit --output-on-failure --no-tests=error

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libssl3 libc-ares2 libyaml-cpp0.7 libspdlog1.10 libfmt9 \
      libprometheus-cpp-core1.0 libcpp-httplib0.11 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --no-create-home --shell /usr/sbin/nologin smtp_exporter \
 && install -d -o smtp_exporter -g smtp_exporter -m 0700 /var/lib/smtp_exporter
COPY --from=build /src/build/exporter/smtp_exporter /usr/local/bin/smtp_exporter
COPY examples/smtp_exporter.yml /etc/smtp_exporter/smtp_exporter.yml
USER smtp_exporter
# 10125: the exporter (default mode); 8080: the happyDomain checker mode (docs/happydomain.md).
EXPOSE 10125 8080
# State on disk is off by default. To serve the last results at once after a restart, mount a
# volume there (a named volume takes this directory's owner) and add the flag:
#   docker run -v smtpx-state:/var/lib/smtp_exporter IMAGE \
#     --config.file=/etc/smtp_exporter/smtp_exporter.yml --storage.path=/var/lib/smtp_exporter
# No curl in the slim image: the binary asks its own /-/healthy (exit 0 when it answers 200).
# With --web.config.file, give the healthcheck the same file: it then speaks TLS, and takes
# basic auth's 401 as healthy.
# The image runs either mode; this HEALTHCHECK is the exporter's. For the happyDomain checker
# mode (`docker run IMAGE -listen :8080`) replace it at run time, as the SDK's images do with
# the binary's own -healthcheck (GET /health within 2 s):
#   docker run --health-cmd '/usr/local/bin/smtp_exporter -healthcheck -listen=:8080' \
#     --health-interval 30s --health-timeout 3s --health-start-period 5s --health-retries 3 \
#     IMAGE -listen :8080
# or, in a derived image:
#   HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
#     CMD ["/usr/local/bin/smtp_exporter", "-healthcheck", "-listen=:8080"]
#   CMD ["-listen", ":8080"]
# tests/docker/check_healthcheck.py (run by ctest) runs the HEALTHCHECK below and both
# checker-mode examples as written, against a live server of their mode and a dead port.
HEALTHCHECK --interval=30s --timeout=10s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/smtp_exporter", "healthcheck", "--web.listen-address=:10125", "--timeout=5s"]
ENTRYPOINT ["/usr/local/bin/smtp_exporter"]
CMD ["--config.file=/etc/smtp_exporter/smtp_exporter.yml", "--web.listen-address=:10125"]
