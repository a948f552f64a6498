#!/usr/bin/env bash
# Build the web UI into ui/dist when its sources changed (`make ui`; `make up` runs it first).
#
#   ui/build.sh            build if needed (Node.js 20 and npm are required: exit 1 with what to do)
#   ui/build.sh --client   only regenerate the typed API client (src/api/schema.d.ts)
#   ui/build.sh --optional as the default, but a missing Node.js only warns (exit 0): `make up` still
#                          runs the API, and / then says the UI is not built
#
# What decides "changed": a SHA-256 over the UI's sources, package-lock.json and the gateway's
# OpenAPI document, kept in dist/.source-hash. The typed client is regenerated from the document
# before each build, so a build always type-checks against the API it will talk to.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
PY=../.venv/bin/python
MODE=${1:-}

need_node() {
    local why=""
    if ! command -v node >/dev/null 2>&1; then
        why="node is not installed"
    elif ! command -v npm >/dev/null 2>&1; then
        why="npm is not installed"
    elif ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
        why="node $(node --version) is too old"
    fi
    if [ -n "$why" ]; then
        echo "ui/build.sh: the web UI needs Node.js 20.19 or later with npm ($why)." >&2
        echo "  Install Node.js 20 (the README's Quick start says how), then run 'make ui'." >&2
        if [ "$MODE" = "--optional" ]; then
            echo "  Going on without the UI: the API works, and http://127.0.0.1:8080/ says the UI is not built." >&2
            exit 0
        fi
        exit 1
    fi
}

deps() {
    # npm ci when package-lock.json is newer than the last install
    if [ ! -f node_modules/.mamc-installed ] || [ package-lock.json -nt node_modules/.mamc-installed ]; then
        npm ci --no-audit --no-fund --loglevel=error
        touch node_modules/.mamc-installed
    fi
}

client() {
    "$PY" -m api.openapi_doc > openapi.json.tmp
    mv openapi.json.tmp openapi.json
    npx --no-install openapi-typescript openapi.json -o src/api/schema.d.ts --silent
}

need_node
deps
client
if [ "$MODE" = "--client" ]; then
    exit 0
fi
hash=$( (find src scripts index.html vite.config.ts tsconfig.json svelte.config.js package-lock.json openapi.json \
          -type f ! -name '*.test.ts' -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1)
if [ -f dist/.source-hash ] && [ "$(cat dist/.source-hash)" = "$hash" ]; then
    echo "ui: up to date (dist/.source-hash)"
    exit 0
fi
npm run --silent check
npm run --silent build
node scripts/budget.mjs | tee dist/.budget
echo "$hash" > dist/.source-hash
