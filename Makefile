# The two commands a newcomer needs: `make run` (the embedded catalog) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test tempest check services-up services-down bench bench-data bench-compare bench-upload bench-pipeline bench-rebuild bench-scale bench-scale-out bench-soak clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

## Install and serve the embedded catalog (SQLite + files under ./catalog-data) on 127.0.0.1:9292.
run: $(STAMP)
	$(BIN)/catalog serve

## Static checks: ruff, mypy (strict), the layering contracts.
check: $(STAMP)
	$(BIN)/ruff check catalog stores infra tests bench
	$(BIN)/ruff format --check catalog stores infra tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

## Bring up PostgreSQL, Kafka and S3Proxy on loopback, then run the checks and the whole suite.
test: $(STAMP) check
	infra/local/tools
	infra/local/services up > .services-env
	. ./.services-env && $(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS)

## OpenStack's interop suite (Tempest's tempest.api.image.v2) against the catalog behind the local
## Keystone, with one store and with two; TEMPEST_ARGS go to infra/local/tempest/run.
tempest: $(STAMP)
	infra/local/tempest/run $(TEMPEST_ARGS)

services-up:
	infra/local/services up

services-down:
	infra/local/services down

bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

## Upload and download MB/s against this machine's limits, and the server's memory.
bench-data: $(STAMP)
	$(BIN)/python -m bench.data_path $(BENCH_ARGS)

## Write-to-Kafka delays on both topics under 8 writers, and the relay's rate (starts the services).
bench-pipeline: $(STAMP)
	infra/local/services up > .services-env
	. ./.services-env && $(BIN)/python -m bench.pipeline --postgres "$$CATALOG_TEST_POSTGRES_URL" --kafka "$$CATALOG_TEST_KAFKA_BOOTSTRAP" $(BENCH_ARGS)

## The catalog beside another image service, figure by figure in turns (BENCH_ARGS must name it:
## "--compare-url http://127.0.0.1:9392 --compare-pid PID").
bench-compare: $(STAMP)
	$(BIN)/python -m bench.compare $(BENCH_ARGS)

## Server CPU per MiB uploaded (with Content-Length and chunked) against md5 + sha512 alone, in
## one run; BENCH_ARGS="--baseline DIR" alternates with another checkout's server (the code before).
bench-upload: $(STAMP)
	$(BIN)/python -m bench.upload_cpu $(BENCH_ARGS)

## Rebuilding the views from a log of 1,000,000 events: events/s on PostgreSQL (the server in
## CATALOG_TEST_POSTGRES_URL, as `make test` leaves it in .services-env, or BENCH_ARGS="--postgres URL").
bench-rebuild: $(STAMP)
	if [ -f .services-env ]; then . ./.services-env; fi; $(BIN)/python -m bench.rebuild $(BENCH_ARGS)

## Ten minutes of many clients, some slow and some stalling, on PostgreSQL + Kafka + S3 with
## --workers 2: statuses, latencies at the start and the end, memory, open files, leftovers.
bench-soak: $(STAMP)
	infra/local/services up > .services-env
	. ./.services-env && $(BIN)/python -m bench.soak $(BENCH_ARGS)

## Costs against the size of the history in one run: a command, as_of and a history page on an
## image at version 10 against 10,000; the rebuild per tenth; a consumer catching up with the
## log against reading it, and the writers' p99 meanwhile (PostgreSQL and Kafka as bench-rebuild).
bench-scale: $(STAMP)
	if [ -f .services-env ]; then . ./.services-env; fi; $(BIN)/python -m bench.scale $(BENCH_ARGS)

## Creates and downloads with 1, 2 and 4 server processes on PostgreSQL (the server in
## CATALOG_TEST_POSTGRES_URL, as `make test` leaves it in .services-env).
bench-scale-out: $(STAMP)
	. ./.services-env && $(BIN)/python -m bench.scale_out --postgres "$$CATALOG_TEST_POSTGRES_URL" $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .services-env
