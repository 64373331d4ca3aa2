# twig — common tasks. `make help` lists them.
# Later issues add their targets and benchmark rows here.

GO        ?= go
BENCHTIME ?= 300ms
FUZZTIME  ?= 10s

.PHONY: help build test e2e bench fuzz vet fmt

help: ## list the targets
	@grep -E '^[a-z0-9]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

build: ## build the twig command into ./bin/twig
	$(GO) build -o bin/twig ./cmd/twig

test: ## run every test (the README's test command)
	$(GO) test ./...

vet: ## go vet and gofmt check
	$(GO) vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

e2e: ## end-to-end checks — none yet: browser, worker and server checks come with their issues
	@echo "e2e: nothing to run yet (the server, edge and web issues add their end-to-end checks here)"

bench: ## run every benchmark and print one table
	@$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) ./... | awk ' \
		/^pkg:/ { pkg = $$2; sub(/.*twig-project\/twig\//, "", pkg) } \
		/^Benchmark/ { name = $$1; sub(/-[0-9]+$$/, "", name); line = ""; \
			for (i = 3; i + 1 <= NF; i += 2) line = line sprintf("%14s %-10s", $$i, $$(i+1)); \
			printf "%-16s %-34s %s\n", pkg, name, line } \
		/^(FAIL|panic)/ { print; failed = 1 } \
		END { exit failed }'

fuzz: ## run each fuzzer for FUZZTIME
	@for f in $$(grep -rlE '^func Fuzz' --include='*_test.go' .); do \
		d=./$$(dirname $${f#./}); \
		for n in $$(grep -oE '^func Fuzz[A-Za-z0-9_]+' $$f | cut -d' ' -f2); do \
			echo "fuzz $$d $$n ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$n\$$" -fuzztime $(FUZZTIME) $$d || exit 1; \
		done; \
	done
