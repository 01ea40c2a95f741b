package encoder

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/onair-studio/onair/internal/codec"
	"github.com/onair-studio/onair/internal/fault"
	"github.com/onair-studio/onair/stub/pb"
)

// autoChain is the order "auto" tries: hardware first, x264 last.
var autoChain = []string{codec.BackendNVENC, codec.BackendVAAPI, codec.BackendQSV, codec.BackendX264}

// chain is the backends to try for cfg, best first. A named backend is the
// only one tried, unless the master excluded it after repeated crashes: then
// the encoder falls back through the auto chain.
func chain(cfg *pb.EncoderConfig) []string {
	named := cfg.GetBackend()
	if named == "" || named == codec.BackendAuto || slices.Contains(cfg.GetExcludeBackends(), named) {
		if cfg.GetStandby() && cfg.GetActiveBackend() == codec.BackendX264 {
			// The active encoder found no hardware that works: the
			// spare does not try it again.
			return []string{codec.BackendX264}
		}
		return autoChain
	}
	return []string{named}
}

// spareOpensCodec says whether a spare opens its H.264 encoder while it
// waits. Only libx264 does: hardware encoders limit concurrent sessions
// (consumer NVENC allows a few), so a spare holding one could starve the
// active encoder or a rendition; a hardware codec opens when the spare is
// promoted. "auto" counts as software once the active encoder runs libx264.
func spareOpensCodec(cfg *pb.EncoderConfig) bool {
	c := chain(cfg)
	return len(c) == 1 && c[0] == codec.BackendX264
}

// openEncoder opens the first backend of the chain that works, and says why
// each one before it did not.
func openEncoder(cfg *pb.EncoderConfig, log *slog.Logger) (*codec.Encoder, string, []*pb.BackendRefusal, error) {
	var refused []*pb.BackendRefusal
	for _, b := range chain(cfg) {
		if slices.Contains(cfg.GetExcludeBackends(), b) {
			refused = append(refused, &pb.BackendRefusal{Backend: b, Reason: "excluded: its driver crashed the encoder"})
			continue
		}
		s := codec.Settings{
			Backend: b, Width: int(cfg.GetWidth()), Height: int(cfg.GetHeight()), FPS: int(cfg.GetFps()),
			BitrateKbps: int(cfg.GetBitrateKbps()), KeyframeSeconds: int(cfg.GetKeyframeSeconds()), Preset: cfg.GetPreset(),
		}
		opened := opening(cfg.GetOpeningFile(), b, log)
		if simulatedHardware(b) {
			log.Warn("simulating a hardware encoder with libx264 (test fault injection)", "backend", b)
			s.Backend = codec.BackendX264
			switch {
			case simulatedOpenFault(b, "crash-open"):
				simulatedCrash(b)
			case simulatedOpenFault(b, "hang-open"):
				fmt.Fprintf(os.Stderr, "simulated %s driver hangs while opening\n", b)
				select {} // as a driver stuck in an ioctl
			}
		}
		enc, err := codec.Open(s)
		opened()
		if err == nil {
			return enc, b, refused, nil
		}
		refused = append(refused, &pb.BackendRefusal{Backend: b, Reason: err.Error()})
	}
	var reasons []string
	for _, r := range refused {
		reasons = append(reasons, r.GetReason())
	}
	return nil, "", refused, errors.New("no H.264 encoder opened: " + strings.Join(reasons, "; "))
}

// opening records in file which hardware backend is being opened, so that
// a driver that takes the process down while opening is known by name: the
// master then leaves that backend out. The returned func empties the record
// once the open returned. libx264 is not recorded; it has no driver to take
// the process down.
func opening(file, backend string, log *slog.Logger) (opened func()) {
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			log.Warn("cannot record the backend being opened", "file", file, "err", err)
		}
	}
	if file == "" || backend == codec.BackendX264 {
		return func() {}
	}
	write(backend)
	return func() { write("") }
}

// fakeHardwareEnv names a hardware backend that tests make appear present,
// with libx264 doing the work: no GPU exists where the tests run. With the
// suffix ":crash" the simulated driver crashes the process shortly after it
// starts encoding, as a buggy driver would; with ":crash-open" it crashes
// the process while the encoder is being opened, and with ":hang-open" it
// never returns from the open. It is honoured only with fault injection on.
const fakeHardwareEnv = "ONAIR_TEST_FAKE_HW"

// crashAfterFrames is when a simulated crashing driver takes the process down.
const crashAfterFrames = 15

func simulatedHardware(backend string) bool {
	name, _, _ := strings.Cut(os.Getenv(fakeHardwareEnv), ":")
	return fault.Enabled() && name != "" && name == backend
}

// simulatedCrashAfter is how many frames a simulated crashing driver
// encodes before it takes the process down; 0 means it never does. It is
// decided once per pipeline, not looked up per frame.
func simulatedCrashAfter(backend string) uint64 {
	if simulatedHardware(backend) && strings.HasSuffix(os.Getenv(fakeHardwareEnv), ":crash") {
		return crashAfterFrames
	}
	return 0
}

// simulatedOpenFault: the simulated driver crashes ("crash-open") or hangs
// ("hang-open") while the encoder is being opened.
func simulatedOpenFault(backend, fault string) bool {
	return simulatedHardware(backend) && strings.HasSuffix(os.Getenv(fakeHardwareEnv), ":"+fault)
}

func simulatedCrash(backend string) {
	fmt.Fprintf(os.Stderr, "fatal: simulated %s driver crash\n", backend)
	os.Exit(3)
}
