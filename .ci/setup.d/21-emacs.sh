#!/usr/bin/env bash
# The Emacs tests (tests/editors/test_emacs.py): emacs-nox runs chatd.el's ERT suite and lints;
# elpa-package-lint gives the package-lint check; tmux and chromium take the chat buffer's
# screenshot. Installs only what is missing, so a warm machine spends no time here.
set -euo pipefail

missing=()
command -v emacs >/dev/null || missing+=(emacs-nox)
command -v tmux >/dev/null || missing+=(tmux)
command -v chromium >/dev/null || missing+=(chromium)
compgen -G '/usr/share/emacs/site-lisp/elpa/package-lint-[0-9]*' >/dev/null \
    || missing+=(elpa-package-lint)

if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
