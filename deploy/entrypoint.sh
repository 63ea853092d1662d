#!/bin/sh
# Container entrypoint: the role is the first argument; everything else is configured by AAS_* variables.
#   api       gunicorn with deploy/gunicorn.conf.py (workers from the CPU count, one bind per port listener)
#   gateway   the OPC UA gateway for the mapping in AAS_GATEWAY_MAPPING
#   plc-sim   the simulated pump line on AAS_PLC_SIM_PORT (default 4840)
#   any other command is run as given (e.g. "aas-server export /backup/env.aasx")
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
role="${1:-api}"
[ "$#" -gt 0 ] && shift
case "$role" in
  api) exec python -m gunicorn -c "$here/gunicorn.conf.py" "$@" aas_server.wsgi:app ;;
  gateway) exec aas-server gateway --mapping "${AAS_GATEWAY_MAPPING:?set AAS_GATEWAY_MAPPING}" "$@" ;;
  plc-sim) exec aas-server plc-sim --host 0.0.0.0 --port "${AAS_PLC_SIM_PORT:-4840}" "$@" ;;
  *) exec "$role" "$@" ;;
esac
