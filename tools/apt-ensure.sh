#!/usr/bin/env bash
# Install the Debian packages listed in the given files (one per line, '#' comments) when missing.
# Used by the Makefile; apt.txt is also what Binder reads.
set -euo pipefail
missing=()
for f in "$@"; do
  [ -f "$f" ] || continue
  while read -r pkg; do
    pkg="${pkg%%#*}"; pkg="$(echo "$pkg" | xargs)"
    [ -n "$pkg" ] || continue
    # a package whose name is a command already on PATH counts as present (npm bundled with a nodejs
    # from elsewhere, say): installing Debian's copy over it could conflict
    command -v "$pkg" >/dev/null 2>&1 && continue
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done < "$f"
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "apt: installing missing system packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo"; else
  echo "ERROR: these system packages are needed but missing, and this user cannot install them:" >&2
  echo "         sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# matplotlib caches its font list; drop it so new fonts are seen
rm -rf "${HOME}/.cache/matplotlib" 2>/dev/null || true
echo "apt: done"
