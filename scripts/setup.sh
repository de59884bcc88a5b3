#!/usr/bin/env bash
# Installs everything mongoshift and mongosim need to build, test and demo, from Debian
# packages (and mongosh from npm, for the real-client check). Idempotent: a second run
# installs nothing and takes a second or two. Works as root or through sudo.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates openssl
  libmongoc-dev libbson-dev
  libspdlog-dev libfmt-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev
  libcpp-httplib-dev libsqlite3-dev libssl-dev
  libsnappy-dev libzstd-dev zlib1g-dev
  libpcre2-dev libicu-dev libintelrdfpmath-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-pymongo
  nodejs npm
)

SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup: not root and no sudo: cannot install packages" >&2; exit 1; fi
fi

missing=()
for p in "${packages[@]}"; do
  # nodejs/npm may come from another apt origin that already provides the commands.
  case "$p" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: Debian packages already installed"
fi

# mongosh, the official shell, for the real-client check. Installed into the project's
# own tools folder so nothing global changes; skipped when already there.
tools="$here/.tools"
if [ ! -x "$tools/node_modules/.bin/mongosh" ]; then
  echo "setup: installing mongosh@2 into $tools"
  mkdir -p "$tools"
  (cd "$tools" && npm install --no-audit --no-fund --silent --prefix "$tools" mongosh@2 >/dev/null 2>&1) || {
    echo "setup: npm install mongosh@2 failed; the mongosh client check will be skipped with that reason" >&2; }
else
  echo "setup: mongosh already installed"
fi
echo "setup: done"
