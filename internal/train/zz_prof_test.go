package train

import (
	"context"
	"github.com/twig-project/twig/core/model"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"
)

func cpuNow() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

func TestZZProfTrain(t *testing.T) {
	steps, _ := strconv.Atoi(os.Getenv("ZZ_STEPS"))
	if steps == 0 {
		t.Skip()
	}
	o := Default()
	o.Steps = steps
	if w, _ := strconv.Atoi(os.Getenv("ZZ_WORKERS")); w > 0 {
		o.Workers = w
	}
	switch os.Getenv("ZZ_PHASE") {
	case "review":
		o.Docs, o.Mixes, o.Phases, o.Grow = mixWeights(model.ReflectDocOptions, 1.2, 0.8, 0.8, 0.8, 1.6, 1.6, 2.5), nil, nil, nil
	case "self":
		o.Docs, o.Mixes, o.Phases, o.Grow = mixWeights(selfReviewDocs, 1.2, 0.8, 0.8, 0.8, 1.6, 1.6, 2.5), nil, nil, nil
	}
	var c0 float64
	var w0 time.Time
	var last, first Progress
	_, err := Run(context.Background(), o, "", false, func(p Progress) {
		if p.Step == 1 {
			c0, w0, first = cpuNow(), time.Now(), p
		}
		last = p
	})
	if err != nil {
		t.Fatal(err)
	}
	cpu, wall := cpuNow()-c0, time.Since(w0).Seconds()
	toks := float64(last.Tokens - first.Tokens)
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	t.Logf("maxrss %d MB", ru.Maxrss>>10)
	t.Logf("workers %d: %d steps, %.0f tokens: wall %.1f s (%.0f tok/s), cpu %.1f s (%.0f tok per 2 CPU-s)", o.Workers, steps, toks, wall, toks/wall, cpu, toks/cpu*2)
}
