# realtor_3cx: the commands of the README. Every set-up step lives in tests/devenv.py.
PYTHON ?= python3

.PHONY: run test bench soak

## Odoo with the addon, demo data, on http://127.0.0.1:8069 (Ctrl-C or SIGTERM stops everything).
## DEMO_TRAFFIC=gentle (default), busy or off: the simulator's demo callers. SIM_PORT=5001.
run:
	exec $(PYTHON) tests/devenv.py run $(if $(DEMO_TRAFFIC),--demo-traffic '$(DEMO_TRAFFIC)') $(if $(SIM_PORT),--sim-port '$(SIM_PORT)')

## Every test suite; the last line is `N passed, N failed`. T=<file or node id> runs one (T="a b": several of one suite).
test:
	$(PYTHON) tests/devenv.py test $(if $(T),--target '$(T)')

## The benchmarks; figures also go to .bench/results.json. ONLY=<name> runs one.
bench:
	$(PYTHON) tests/devenv.py bench $(if $(ONLY),--only '$(ONLY)')

## Calls through every fault (WebSocket drops, revoked tokens, 3CX, worker and PostgreSQL
## restarts); none lost or doubled. Not part of `make test`. CALLS=10000 SEED=1 by default.
soak:
	$(PYTHON) tests/devenv.py soak $(if $(CALLS),--calls '$(CALLS)') $(if $(SEED),--seed '$(SEED)') $(if $(SOAK_ARGS),-- $(SOAK_ARGS))
