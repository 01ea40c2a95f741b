# OnAir. `make run` and `make test` are all the set-up a fresh Debian 12
# machine needs: both install what is missing first (make deps).

GO       ?= go
BIN      := bin
# Debian packages: cgo libraries for the encoder, and the real peers tests talk to.
APT_PACKAGES := pkg-config libavcodec-dev libavutil-dev libyuv-dev \
	libavdevice-dev libavformat-dev libswresample-dev libswscale-dev pulseaudio pulseaudio-utils \
	ffmpeg nginx libnginx-mod-rtmp xvfb x11-utils xdotool imagemagick \
	libgl1-mesa-dev xorg-dev iproute2
# Pinned code generators for `make proto` (the proxy refuses @latest here).
PROTOC_GEN_GO      := google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.6
PROTOC_GEN_GO_GRPC := google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.3.0
# A third RTMP live server the tests publish to, besides nginx-rtmp and
# FFmpeg's own; installed under build/ (it needs Node 20 or later).
NODE_MEDIA_SERVER_VERSION := 4.4.3
NODE_MEDIA_SERVER_DIR     := build/npm
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
# Every package runs under the race detector. Packages run one at a time
# (-p 1): several tests time restarts against real processes, and two
# packages' worth of encoders and live servers on two cores would make those
# times measure the machine rather than OnAir. The timeout is per package:
# cmd/master's end-to-end tests take 8 to 9 minutes on 2-core machines and
# took 13 with other work beside them, so 25 leaves room for a slow or busy
# machine without hiding a hang.
TEST_FLAGS ?= -race -p 1 -count=1 -timeout 25m

.PHONY: all deps build plugins run test bench fuzz soak proto lint clean

all: build

# Installs only what is missing, so a second run costs a second.
deps:
	@missing=$$(for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		$(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi
	@grep -qs '"version": "$(NODE_MEDIA_SERVER_VERSION)"' $(NODE_MEDIA_SERVER_DIR)/node_modules/node-media-server/package.json || { \
		command -v npm >/dev/null || { $(SUDO) apt-get update -q && \
			DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends nodejs npm; }; \
		npm install --prefix $(NODE_MEDIA_SERVER_DIR) --no-audit --no-fund --no-save node-media-server@$(NODE_MEDIA_SERVER_VERSION); }
	$(GO) mod download

build: plugins
	$(GO) build -o $(BIN)/ ./cmd/...

# Example plugins into bin/plugins/, with their sha256 manifest, stripped
# (-s -w: no symbol table or DWARF; a panic still names its functions).
plugins:
	$(GO) build -trimpath -ldflags="-s -w" -o $(BIN)/plugins/ ./plugins/...
	$(GO) build -o $(BIN)/ ./cmd/pluginhost
	$(BIN)/pluginhost -write-manifest $(BIN)/plugins

# Goes live at once to the embedded RTMP server (the screen when there is a
# display, else the test pattern) and prints how to watch it.
run: deps build
	$(BIN)/master -live

test: deps
	$(GO) vet ./...
	$(GO) test $(TEST_FLAGS) ./...

# Speed targets, each compared with ffmpeg in the same run (ratios printed).
# One package at a time (-p 1): two benchmarks sharing the cores would
# measure each other. The screen pipeline's rate searches alone take about
# 14 minutes, so each package gets 90 (go test's default limit is 10).
bench: deps build
	$(GO) test -run '^$$' -bench . -p 1 -timeout 90m ./...
	$(GO) run ./bench/codec

# Fuzz every target for FUZZTIME (make fuzz FUZZTIME=1m for longer runs). The
# default is a number of inputs, not a time: a time limit that ends while the
# fuzzer minimises a new input is reported as "context deadline exceeded".
# `go test -fuzz` takes one target of one package at a time, so the targets
# run one after another, each on one core (-parallel 1). The pluginhost
# package's TestMain builds the example plugins before fuzzing starts, which
# outlasts a short -fuzztime, so that target runs a number of inputs instead.
# A failing input is saved under the package's testdata/fuzz/NAME/ and is
# replayed by every later `go test`.
FUZZTIME ?= 10000x
FUZZ_TARGETS := \
	internal/codec:FuzzCaptureTimeSEI \
	internal/codec:FuzzParseCaptureTime \
	internal/codec:FuzzEmulationPrevention \
	internal/output/rtmpwire:FuzzAVCSequenceHeader \
	internal/output/rtmpwire:FuzzAnnexBToAVCC \
	internal/output/rtmpwire:FuzzAVCFrame \
	internal/output/rtmpwire:FuzzVideoTag \
	internal/output/rtmpwire:FuzzFixerArbitrary \
	internal/output/rtmpwire:FuzzFixerWellFormed \
	internal/output/rtmpwire:FuzzCheckAMF0 \
	internal/rtmpserver:FuzzTSToFLV \
	internal/output:FuzzParseSRT \
	internal/output:FuzzParseWHIP \
	internal/output:FuzzCheckAnswer \
	internal/timeline:FuzzTimeline \
	internal/config:FuzzLoad \
	internal/jobs:FuzzParseParams \
	internal/source:FuzzParse \
	internal/media/decode:FuzzPlay:2000x \
	internal/obsws:FuzzDecode \
	plugins/lut:FuzzParseCube \
	internal/pluginhost:FuzzParseManifest:20000x

fuzz: deps
	@failed=; for t in $(FUZZ_TARGETS); do \
		set -- $$(echo $$t | tr : ' '); time=$${3:-$(FUZZTIME)}; \
		echo "== $$2 ($$1, $$time)"; \
		$(GO) test -run '^$$' -fuzz "^$$2\$$" -fuzztime $$time -fuzzminimizetime 1000x -parallel 1 ./$$1 \
			|| failed="$$failed $$2"; \
	done; \
	[ -z "$$failed" ] || { echo "fuzz: failing:$$failed"; exit 1; }

# The chaos soak (bench/soak): real master, encoder, pluginhost, plugins and
# nginx, one random fault every 1-3 s for SOAK (make soak SOAK=2m).
SOAK ?= 5m
SOAK_TIMEOUT ?= 40m
soak: deps
	ONAIR_SOAK=$(SOAK) $(GO) test -v -count=1 -run '^TestSoak$$' -timeout $(SOAK_TIMEOUT) ./bench/soak

proto:
	@command -v protoc >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q protobuf-compiler; }
	GOBIN=$(CURDIR)/$(BIN)/tools $(GO) install $(PROTOC_GEN_GO)
	GOBIN=$(CURDIR)/$(BIN)/tools $(GO) install $(PROTOC_GEN_GO_GRPC)
	PATH=$(CURDIR)/$(BIN)/tools:$$PATH protoc -I stub/proto \
		--go_out=stub/pb --go_opt=paths=source_relative \
		--go-grpc_out=stub/pb --go-grpc_opt=paths=source_relative \
		stub/proto/*.proto

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$out" ] || { echo "gofmt needed:"; echo "$$out"; exit 1; }

clean:
	rm -rf $(BIN)
