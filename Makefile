# The two commands of README: `make run` (server with demo data) and `make test` (the whole suite).
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8080
DATA_DIR ?= ./data

.PHONY: install run test bench

install:
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e '.[test]'

run: install
	AAS_DATA_DIR=$(DATA_DIR) aas-server demo
	AAS_DATA_DIR=$(DATA_DIR) AAS_BIND=$(HOST):$(PORT) $(PYTHON) -m gunicorn -c deploy/gunicorn.conf.py aas_server.wsgi:app

test: install
	$(PYTHON) -m pytest -n 2 --dist loadfile -q -p no:cacheprovider

bench: install
	$(PYTHON) -m bench.run_all
