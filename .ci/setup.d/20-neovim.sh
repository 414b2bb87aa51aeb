#!/usr/bin/env bash
# tests/editors/test_neovim.py: Neovim drives the plugin; tmux holds its screen for the
# screenshot (rendered with Pillow, in the test extra, in DejaVu Sans Mono).
set -euo pipefail
missing=()
command -v nvim >/dev/null || missing+=(neovim)
command -v tmux >/dev/null || missing+=(tmux)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ] || missing+=(fonts-dejavu-core)
[ -e /usr/share/terminfo/s/screen-256color ] || [ -e /lib/terminfo/s/screen-256color ] || missing+=(ncurses-term)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
nvim --version | head -n 1
