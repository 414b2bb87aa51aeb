#!/usr/bin/env bash
# ACP tests (tests/acp): node, and the locked official TypeScript SDK client in tests/acp/node.
set -euo pipefail

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi

cd tests/acp/node
npm ci --no-audit --no-fund --prefer-offline --cache "$CHATD_CI_CACHE/npm" --loglevel=error
