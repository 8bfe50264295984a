#!/usr/bin/env bash
# Installs the Debian packages the project needs, when any is missing.
# As root it runs apt-get; otherwise it prints the command to run.
#   tools/deps.sh          what `make' and `make demo' need: the module
#   tools/deps.sh test     also what `make test' needs
#   tools/deps.sh bench    also what `make bench' needs
set -euo pipefail

what=${1:-build}

packages=(cmake g++ make pkg-config emacs-nox libuv1-dev libcurl4-openssl-dev libhttp-parser-dev)
# GoogleTest, the test servers (python3; openssl makes the HTTPS one's
# certificate), lint, the archive (tar), prlimit (util-linux) for the
# tests that run out of descriptors and memory on purpose, and curl as
# a client of the HTTP server.
test_packages=(libgtest-dev python3 openssl elpa-package-lint cppcheck tar util-linux curl)
# nginx serves the HTTP benchmark; plz is one of its contenders; wrk
# loads the HTTP servers, simple-httpd being one of them.
bench_packages=(nginx-light elpa-plz wrk elpa-simple-httpd)
case "$what" in
  test) packages+=("${test_packages[@]}") ;;
  bench) packages+=("${test_packages[@]}" "${bench_packages[@]}") ;;
esac

has_emacs_module_header() {
  [ -e /usr/include/emacs-module.h ] \
    || [ -e "$(emacs -Q --batch --eval '(princ (expand-file-name "../include" invocation-directory))' 2>/dev/null)/emacs-module.h" ]
}

missing() {
  local cmd
  for cmd in cmake g++ make pkg-config emacs; do
    command -v "$cmd" >/dev/null 2>&1 || return 0
  done
  pkg-config --exists libuv libcurl 2>/dev/null || return 0
  has_emacs_module_header || return 0
  [ -e /usr/include/http_parser.h ] || return 0
  if [ "$what" != build ]; then
    for cmd in python3 openssl cppcheck tar prlimit curl; do
      command -v "$cmd" >/dev/null 2>&1 || return 0
    done
    compgen -G "/usr/share/emacs/site-lisp/elpa/package-lint-*" >/dev/null || return 0
    [ -e /usr/include/gtest/gtest.h ] || return 0
  fi
  if [ "$what" = bench ]; then
    [ -x /usr/sbin/nginx ] || return 0
    compgen -G "/usr/share/emacs/site-lisp/elpa/plz-*" >/dev/null || return 0
    command -v wrk >/dev/null 2>&1 || return 0
    compgen -G "/usr/share/emacs/site-lisp/elpa/simple-httpd-*" >/dev/null || return 0
  fi
  return 1
}

if ! missing; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "Missing dependencies. Install them with:" >&2
  echo "  sudo apt-get install -y ${packages[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}"
