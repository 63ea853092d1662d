#!/bin/sh
# `make run`'s live demo: run a command (the API under gunicorn) beside the simulated pump line PLC and the OPC UA
# gateway feeding its values into the store, and stop all three when the command ends or this script is stopped
# (Ctrl-C, SIGTERM).
#   deploy/with_live_plc.sh python -m gunicorn -c deploy/gunicorn.conf.py aas_server.wsgi:app
# The store is the one AAS_* selects for all three; the mapping is AAS_OPCUA_MAPPING (default: the pump line).
set -u
mapping="${AAS_OPCUA_MAPPING:-adapters/mappings/opcua_pump_line.yaml}"
aas-server plc-sim --port "${PLC_SIM_PORT:-4840}" &
plc=$!
aas-server gateway --mapping "$mapping" &
gateway=$!
AAS_OPCUA_MAPPING="$mapping" "$@" &
api=$!
stop() {
  kill -TERM "$api" "$gateway" "$plc" 2>/dev/null
  wait "$api" "$gateway" "$plc" 2>/dev/null
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
wait "$api"
