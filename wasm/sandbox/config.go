package sandbox

import (
	"os"
	"path/filepath"
	"time"
)

// Config sets the sandbox's compilation cache and the limits every run is
// held to. It is a plain value; a zero field takes its default (see
// DefaultConfig, the one place the defaults live).
type Config struct {
	// CacheDir keeps compiled guests on disk across processes, so only the
	// first process compiles (≈1 s) and later ones load (≈50 ms).
	// "" = DefaultCacheDir(); CacheOff = keep compiled code in memory only.
	CacheDir string
	// MemoryLimitPages caps a guest's linear memory, in 64 KiB pages.
	MemoryLimitPages uint32
	// RunTimeout caps a run's wall time; at the deadline the guest is
	// closed wherever it is and the run fails with deadline_exceeded.
	RunTimeout time.Duration
	// MaxHostCalls caps the host-function calls (imports) of one run.
	MaxHostCalls int64
	// MaxEventBytes caps the bytes of all events one run emits.
	MaxEventBytes int64
	// MaxMessageBytes caps one event or one role request.
	MaxMessageBytes int
	// MaxOpenCalls caps the role calls open at once in one run (the engine
	// needs two: a paint and, inside it, a decide).
	MaxOpenCalls int
	// EngineTerminationChecks compiles the embedded engine guest with
	// wazero's termination checks, as user modules always are: at the
	// deadline it is then stopped wherever it is, not at its next host call
	// (which it makes for every token), and its orchestration runs about
	// 2.5× slower. The engine guest is twig's own code built into the binary;
	// every other limit holds for it either way.
	EngineTerminationChecks bool
	// FreshEngineInstances gives every run of the embedded engine guest an
	// instance of its own. By default an engine-guest instance whose run
	// finished cleanly (twig_run returned, no limit or ABI rule broken, the
	// run not cancelled) plays later runs too, up to engineInstanceRuns:
	// its start-up, its warmed heap and grown stack are then paid once,
	// not per run. The engine guest is twig's own code; what one run leaves
	// in its heap is garbage the next never reads, as in a native run's
	// process. Users' modules always get a fresh instance per run.
	FreshEngineInstances bool
}

// CacheOff as Config.CacheDir keeps compiled code in memory only.
const CacheOff = "-"

// DefaultConfig returns the defaults:
//
//	limit             default     a run past it
//	MemoryLimitPages  1024        64 MiB of linear memory; the guest cannot grow past it
//	RunTimeout        2m          the guest is closed, deadline_exceeded (the engine
//	                              guest at its next host call: EngineTerminationChecks)
//	MaxHostCalls      1,000,000   the guest is stopped, guest_failed
//	MaxEventBytes     16 MiB      the guest is stopped, guest_failed
//	MaxMessageBytes   1 MiB       (one event or request) the guest is stopped, guest_failed
//	MaxOpenCalls      4           the guest is stopped, guest_failed
//
// A run of the embedded engine on the shipped model uses up to about 24 MiB
// of memory (its collector's soft limit), a few hundred host calls and a few
// tens of KiB of events.
func DefaultConfig() Config {
	return Config{
		MemoryLimitPages: 1024,
		RunTimeout:       2 * time.Minute,
		MaxHostCalls:     1_000_000,
		MaxEventBytes:    16 << 20,
		MaxMessageBytes:  1 << 20,
		MaxOpenCalls:     4,
	}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MemoryLimitPages == 0 {
		c.MemoryLimitPages = d.MemoryLimitPages
	}
	if c.RunTimeout <= 0 {
		c.RunTimeout = d.RunTimeout
	}
	if c.MaxHostCalls <= 0 {
		c.MaxHostCalls = d.MaxHostCalls
	}
	if c.MaxEventBytes <= 0 {
		c.MaxEventBytes = d.MaxEventBytes
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = d.MaxMessageBytes
	}
	if c.MaxOpenCalls <= 0 {
		c.MaxOpenCalls = d.MaxOpenCalls
	}
	return c
}

// DefaultCacheDir is the compilation cache used when Config.CacheDir is "":
// twig/wazero under the user's cache folder ($XDG_CACHE_HOME or ~/.cache),
// or under the temporary folder when there is none.
func DefaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "twig", "wazero")
}
