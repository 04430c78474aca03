#!/usr/bin/env bash
# Source it: makes sure headless Chromium and its WebDriver (Debian's `chromium` and
# `chromium-driver`) are installed, and exports their paths for the browser test.
# Installs with apt-get when missing (CI machines run as root).

browser_install() {
  if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    echo "==> installing chromium and chromium-driver (apt-get)"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
  fi
  TETHER_TEST_CHROMIUM="$(command -v chromium)"
  TETHER_TEST_CHROMEDRIVER="$(command -v chromedriver)"
  export TETHER_TEST_CHROMIUM TETHER_TEST_CHROMEDRIVER
}
