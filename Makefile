# Targets for working on the module. CI runs .ci/run, which starts the
# servers the tests use (.ci/services.sh) and then does what `race` and `fuzz` do.
GO ?= go
FUZZTIME ?= 2000x
BENCH ?= .
COUNT ?= 6

.PHONY: test race fuzz bench bench-compare lint services

test:
	$(GO) test ./...

race:
	$(GO) test -race -count=1 -timeout 20m ./...

fuzz:
	FUZZTIME=$(FUZZTIME) bash .ci/fuzz.sh

bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -count $(COUNT) ./...

bench-compare:
	cd benchmarks && bash run.sh

lint:
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

services:
	@bash .ci/services.sh
