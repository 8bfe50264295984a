#!/usr/bin/env bash
# Installs the Debian packages the project needs, when any is missing.
# As root it runs apt-get; otherwise it prints the command to run.
# With the argument "bench", also what `make bench` needs.
set -euo pipefail

bench=no
[ "${1:-}" = bench ] && bench=yes

packages=(cmake g++ make pkg-config emacs-nox libuv1-dev libcurl4-openssl-dev
          libgtest-dev python3 openssl elpa-package-lint cppcheck)

# nginx serves the HTTP benchmark; plz is one of its contenders.
bench_packages=(nginx-light elpa-plz)
if [ "$bench" = yes ]; then
  packages+=("${bench_packages[@]}")
fi

missing() {
  local cmd
  if [ "$bench" = yes ]; then
    [ -x /usr/sbin/nginx ] || return 0
    compgen -G "/usr/share/emacs/site-lisp/elpa/plz-*" >/dev/null || return 0
  fi
  # openssl: the HTTPS tests make a throwaway self-signed certificate.
  for cmd in cmake g++ make pkg-config emacs python3 openssl cppcheck tar; do
    command -v "$cmd" >/dev/null 2>&1 || return 0
  done
  pkg-config --exists libuv libcurl 2>/dev/null || return 0
  compgen -G "/usr/share/emacs/site-lisp/elpa/package-lint-*" >/dev/null || return 0
  [ -e /usr/include/gtest/gtest.h ] || return 0
  [ -e /usr/include/emacs-module.h ] \
    || [ -e "$(emacs -Q --batch --eval '(princ (expand-file-name "../include" invocation-directory))' 2>/dev/null)/emacs-module.h" ] \
    || return 0
  return 1
}

if ! missing; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "Missing build dependencies. Install them with:" >&2
  echo "  sudo apt-get install -y ${packages[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}"
