#!/bin/sh
# For a machine that has python3, pip and g++ but not yet make: install make (apt-get, as root or
# through sudo), then run the Makefile target given, e.g. `sh tools/bootstrap.sh test`.
set -eu
cd "$(dirname "$0")/.."
if ! command -v make >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq make
fi
exec make "$@"
