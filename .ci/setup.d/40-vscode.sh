#!/usr/bin/env bash
# The VS Code extension's build and its end-to-end test's tools: Node 24, code-server and
# playwright-core live under CHATD_CI_CACHE (about 600 MB, paid once); the .vsix is rebuilt each run.
set -euo pipefail
cd "$(dirname "$0")/../.."

cache=${CHATD_CI_CACHE:-/var/cache/chatd-ci}
tools=$cache/vscode-tools
code_server_version=4.139.1
playwright_version=1.57.0
apt_packages=(chromium libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev pkg-config build-essential)

missing=()
for package in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' || missing+=("$package")
done
# Any Node >= 20 with npm will do (a nodesource build bundles npm and conflicts with Debian's).
command -v npm >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p "$tools"
if [ ! -x "$tools/node24/node_modules/.bin/node" ]; then
    npm install --prefix "$tools/node24" --no-audit --no-fund --loglevel=error node@24
fi
# code-server builds its native modules with the Node it will run on.
if [ ! -x "$tools/code-server/node_modules/.bin/code-server" ]; then
    PATH=$tools/node24/node_modules/.bin:$PATH \
        npm install --prefix "$tools/code-server" --no-audit --no-fund --loglevel=error \
        "code-server@$code_server_version"
fi
if [ ! -d "$tools/playwright/node_modules/playwright-core" ]; then
    npm install --prefix "$tools/playwright" --no-audit --no-fund --loglevel=error \
        "playwright-core@$playwright_version"
fi

# vsce needs Node >= 20; Debian 12's own nodejs is 18.
export PATH=$tools/node24/node_modules/.bin:$PATH
cd editors/vscode
npm ci --no-audit --no-fund --loglevel=error
npm run build
npm run package
