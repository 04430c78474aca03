#!/usr/bin/env bash
# Source it: installs a pinned set of tools once into a folder of its own under
# $TOOLS_DIR (default .tools/). A stamp file in the folder, named by the set's versions
# (`.installed-1.2.0-0.7.2`), says it is installed; without it the folder is emptied and
# installed again, so a changed pin replaces the old set.

TOOLS_DIR="${TOOLS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.tools}"

# A Python venv at DIR with the pinned requirements: `tools_pip DIR NAME==VERSION...`.
tools_pip() {
  local dir=$1
  shift
  _tools_installed "$dir" "$@" && return 0
  python3 -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check "$@"
  touch "$dir/$(_tools_stamp "$@")"
}

# npm packages at exact versions under DIR/node_modules: `tools_npm DIR NAME@VERSION...`.
tools_npm() {
  local dir=$1
  shift
  _tools_installed "$dir" "$@" && return 0
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error --save-exact "$@" >/dev/null
  touch "$dir/$(_tools_stamp "$@")"
}

# True when DIR holds the set; otherwise says what it installs and empties DIR for it.
_tools_installed() {
  local dir=$1
  shift
  if [ -f "$dir/$(_tools_stamp "$@")" ]; then return 0; fi
  echo "==> installing $* into $dir"
  rm -rf "$dir"
  mkdir -p "$dir"
  return 1
}

# The stamp's name: the versions of the set, in order.
_tools_stamp() {
  local pin name=.installed
  for pin in "$@"; do name+="-${pin##*[=@]}"; done
  echo "$name"
}
