#!/usr/bin/env bash
# Install headless Chromium from Debian's packages, for the tests of the
# HTML report (crates/rdbkit-cli/tests/report_html.rs open the page in it).
#
# Idempotent: does nothing when `chromium` (or $RDBKIT_CHROMIUM) already
# runs and a font is installed. Otherwise `apt-get install -y chromium`
# (and two font packages), as root or through sudo.
# Exit 0 = a working browser is there.
#
# Usage: scripts/install-browser.sh
set -euo pipefail

die() {
    echo "install-browser.sh: ERROR: $*" >&2
    exit 1
}

works() {
    "$1" --headless=new --no-sandbox --disable-gpu --version >/dev/null 2>&1 ||
        "$1" --version >/dev/null 2>&1
}

# A page with no font draws no text: the screenshot tests need one.
has_fonts() {
    ! command -v fc-list >/dev/null 2>&1 || [ -n "$(fc-list 2>/dev/null | head -n1)" ]
}

if [ -n "${RDBKIT_CHROMIUM:-}" ]; then
    works "$RDBKIT_CHROMIUM" || die "RDBKIT_CHROMIUM=$RDBKIT_CHROMIUM does not run"
    echo "install-browser.sh: using $RDBKIT_CHROMIUM"
    exit 0
fi
if command -v chromium >/dev/null 2>&1 && works chromium && has_fonts; then
    echo "install-browser.sh: $(chromium --version 2>/dev/null | head -n1) already installed"
    exit 0
fi

command -v apt-get >/dev/null 2>&1 || die "chromium is missing and there is no apt-get: install Chromium and put it on PATH (or set RDBKIT_CHROMIUM)"
if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    die "chromium is missing: run as root, or install sudo, to apt-get install it"
fi

# One installer at a time (apt holds its own lock, but fails rather than waits).
LOCK=${TMPDIR:-/tmp}/rdbkit-install-browser.lock
if command -v flock >/dev/null 2>&1; then
    exec 9>"$LOCK"
    flock 9
    if command -v chromium >/dev/null 2>&1 && works chromium && has_fonts; then
        exit 0
    fi
fi

export DEBIAN_FRONTEND=noninteractive
# A clean machine may have no package lists yet.
if ! apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    "${SUDO[@]}" apt-get update
fi
# Without the recommended packages (printing, udev, a notification daemon),
# but with fonts, which only chromium's recommends would bring.
"${SUDO[@]}" apt-get install -y --no-install-recommends chromium fonts-liberation fonts-dejavu-core
command -v chromium >/dev/null 2>&1 && works chromium || die "chromium was installed but does not run"
echo "install-browser.sh: installed $(chromium --version 2>/dev/null | head -n1)"
