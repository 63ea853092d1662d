# The two commands of README: `make run` (server with demo data) and `make test` (the whole suite).
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8080
DATA_DIR ?= ./data
# sample inputs of the batch adapters, ingested by `make run` after the demo plant (exit code 1 = some rejected)
SAMPLES ?= ../shared/samples

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
		sh deploy/with_live_plc.sh $(PYTHON) -m gunicorn -c deploy/gunicorn.conf.py aas_server.wsgi:app

test: install
	$(PYTHON) -m pytest -n 2 --dist loadfile -q -p no:cacheprovider

bench: install
	$(PYTHON) -m bench.run_all
