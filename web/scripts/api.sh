#!/bin/sh
# The console's API client, generated from the services' own OpenAPI documents and never
# committed (web/.gitignore): each service's app is asked for app.openapi() without a server
# (dump_openapi.py, into src/api/<service>.json), then openapi-typescript writes the types
# (src/api/<service>.d.ts). `npm run build` and `npm run typecheck` run this first, so a change to a
# service's routes reaches the console's types with no file to edit or regenerate by hand.
#
# The Python that imports the services: $PYTHON, else the repository's .venv, else python3.
#
#   sh scripts/api.sh                the documents, then the types
#   sh scripts/api.sh --types-only   the types of documents already in src/api (the gateway
#                                    image's build: its Python stage wrote them)
set -eu
cd "$(dirname "$0")/../.."
if [ "${1:-}" != --types-only ]; then
  if [ -n "${PYTHON:-}" ]; then py="$PYTHON"
  elif [ -x .venv/bin/python ]; then py=.venv/bin/python
  else py=python3; fi
  "$py" web/scripts/dump_openapi.py >/dev/null
fi
cd web
for service in registry pairing visits notify reports; do
  node_modules/.bin/openapi-typescript "src/api/$service.json" -o "src/api/$service.d.ts" >/dev/null
done
