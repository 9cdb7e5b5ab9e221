#!/usr/bin/env bash
# Prepares a Debian/Ubuntu machine for Halo: nats-server from apt when missing, npm packages when stale.
# Run by `npm start` and `npm test` (prestart/pretest; `test` adds what only the tests use), by
# `npm run bench:compare` (`bench` adds VictoriaMetrics) and by .ci/run; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need_packages=()
command -v nats-server >/dev/null 2>&1 || need_packages+=(nats-server)
# The tests make TLS certificates with openssl, and run the agent against the real servers of
# each tier.
command -v openssl >/dev/null 2>&1 || need_packages+=(openssl)
command -v haproxy >/dev/null 2>&1 || need_packages+=(haproxy)
command -v nginx >/dev/null 2>&1 || need_packages+=(nginx)
command -v redis-server >/dev/null 2>&1 || need_packages+=(redis-server)
command -v prometheus-node-exporter >/dev/null 2>&1 || need_packages+=(prometheus-node-exporter)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need_packages+=(postgresql)
# The report tests open the HTML report in headless Chromium (screenshots, PDF); `npm start` does
# not need it (`halo report --format pdf` says how to install it when it is missing).
if [ "${1:-}" = "test" ]; then
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 ||
    command -v google-chrome >/dev/null 2>&1 || need_packages+=(chromium)
  # The compose tests validate compose/ with `docker-compose config` (Debian's v1; no engine).
  command -v docker-compose >/dev/null 2>&1 || need_packages+=(docker-compose)
  # The intake tests remote_write from a real Prometheus.
  command -v prometheus >/dev/null 2>&1 || need_packages+=(prometheus)
fi
# bench/compare loads the same payload into VictoriaMetrics, sending it with curl.
if [ "${1:-}" = "bench" ]; then
  command -v victoria-metrics >/dev/null 2>&1 || need_packages+=(victoria-metrics)
  command -v curl >/dev/null 2>&1 || need_packages+=(curl)
fi

if [ ${#need_packages[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "halo setup: please install ${need_packages[*]} (macOS: brew install ${need_packages[*]})" >&2
    exit 1
  fi
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "halo setup: run as root, or install ${need_packages[*]} with apt-get" >&2
      exit 1
    fi
  fi
  echo "halo setup: installing ${need_packages[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_packages[@]}" >/dev/null
fi

# npm ci when node_modules is missing or older than the lock file.
node cli/lock-platforms.mjs
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "halo setup: installing npm packages (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
