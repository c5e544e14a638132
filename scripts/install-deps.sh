#!/usr/bin/env bash
# install-deps.sh - install the Debian 12 packages that building and testing
# Graft needs, and only those that are missing. Runs apt-get through sudo
# when not root. Always --no-install-recommends: gcc-arm-none-eabi alone
# would pull 1.5 GiB of recommends.
#
# Groups (all needed by `make check`):
#   build      C toolchains and CMake; clang's ASan/libFuzzer runtime is only
#              a recommend of clang, so it is named explicitly
#   wasm       C and Rust guests for the examples, wat2wasm for test modules
#   mcu        the Cortex-M cross compiler and newlib, for the no-malloc build
#   agent      jansson, SQLite, libmosquitto, libmicrohttpd, and the Mosquitto
#              broker that the agent's end-to-end tests start on loopback
#   bundle     libsodium: Ed25519 and SHA-256 for signed bundles (src/bundle)
#   demo       Mosquitto's command-line clients (mosquitto_sub/_pub: what the
#              broker sees, rules sent from outside) and jq, which writes the
#              demo's broker config (`make demo-mqtt`, tests/e2e/demo_mqtt.sh)
set -euo pipefail

PKGS=(
  # build
  build-essential cmake make gcc clang lld libclang-rt-14-dev pkg-config
  # wasm guests
  wasi-libc libclang-rt-14-dev-wasm32 wabt binaryen rustc cargo libstd-rust-dev-wasm32
  # microcontroller cross build
  gcc-arm-none-eabi libnewlib-arm-none-eabi binutils-arm-none-eabi
  # the gateway agent: config, kv state, MQTT, HTTP metrics; a real broker for tests
  libjansson-dev libsqlite3-dev libmosquitto-dev libmicrohttpd-dev mosquitto
  # the demo over Mosquitto: a subscriber and a publisher at the broker, jq for its config
  mosquitto-clients jq
  # the MQTT bridge's TLS test makes its CA and server certificate
  openssl
  # signed module bundles (src/bundle): Ed25519 signatures and SHA-256
  libsodium-dev
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "install-deps: not root and no sudo; install these first: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
