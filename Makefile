# The two commands of README: `make run` (server with demo data) and `make test` (the whole suite).
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8080
DATA_DIR ?= ./data
# sample inputs of the batch adapters, ingested by `make run` after the demo plant (exit code 1 = some rejected)
SAMPLES ?= ../shared/samples
# the demo's output ports: internal at /api/v3.1, partners at /external/api/v3.1 (rules and masking in deploy/);
# the two secrets are demo values for this machine only, production takes them from its secret store
PORTS_FILE ?= deploy/ports.demo.yaml
DEMO_SECRETS = AAS_DATA_PLANE_SECRET=demo-data-plane-secret AAS_MASKING_SECRET=demo-masking-secret-not-for-production

.PHONY: install run test bench

install:
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e '.[test]'

run: install
	AAS_DATA_DIR=$(DATA_DIR) aas-server demo
	@if [ -d "$(SAMPLES)" ]; then \
		AAS_DATA_DIR=$(DATA_DIR) aas-server ingest erp -q --mapping matmas_material_master \
			--rejects $(DATA_DIR)/ingest-rejects/matmas.csv $(SAMPLES)/erp/MATMAS05_pumps.xml && \
		{ AAS_DATA_DIR=$(DATA_DIR) aas-server ingest erp -q --mapping serial_units_export \
			--rejects $(DATA_DIR)/ingest-rejects/serial-units.csv $(SAMPLES)/erp/serial_units_export.csv \
			|| [ $$? -eq 1 ]; } && \
		AAS_DATA_DIR=$(DATA_DIR) aas-server ingest csv -q --mapping test_bench_timeseries \
			--rejects $(DATA_DIR)/ingest-rejects/test-bench.csv $(SAMPLES)/csv/test_bench_TB03.csv; \
	else \
		echo "make run: $(SAMPLES) not found, the sample ingests (material master, serial units, test bench) are skipped"; \
	fi
	@# the simulated PLC and the OPC UA gateway run beside the API (live values, write-back, StartPump), and stop with it
	AAS_DATA_DIR=$(DATA_DIR) AAS_BIND=$(HOST):$(PORT) AAS_OPCUA_MAPPING=adapters/mappings/opcua_pump_line.yaml \
		AAS_PORTS_FILE=$(PORTS_FILE) $(DEMO_SECRETS) sh deploy/with_live_plc.sh $(PYTHON) -m gunicorn -c deploy/gunicorn.conf.py aas_server.wsgi:app

test: install
	$(PYTHON) -m pytest -n 2 --dist loadfile -q -p no:cacheprovider

bench: install
	$(PYTHON) -m bench.run_all
