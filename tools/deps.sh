#!/usr/bin/env bash
# Installs what pgsluice needs to build and test, from Debian's packages.
# Usage: tools/deps.sh [build|test|bench]   (default: test)
# Runs apt-get only for packages that are missing; as root, or through sudo.
set -euo pipefail

what=${1:-test}
pkgs=(build-essential cmake pkg-config libpq-dev liburing-dev libzstd-dev libxxhash-dev
      postgresql-15 postgresql-client-15 postgresql-contrib)
case "$what" in
  build) ;;
  test) pkgs+=(libcriterion-dev clang libclang-rt-14-dev tmux prometheus curl time) ;;
  bench) pkgs+=(pgcopydb gnuplot-nox python3) ;;
  *) echo "usage: tools/deps.sh [build|test|bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "tools/deps.sh: missing packages (${missing[*]}) and not root: install them, or run as root" >&2; exit 1; }
  sudo=sudo
fi
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
