package model

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// DefaultWeightsPath is where the shipped weights live inside the embedded
// file system (and in the repository, under core/model/).
const DefaultWeightsPath = "weights/default.safetensors"

// ErrNoWeights is returned by Default when the binary was built without the
// shipped weights.
var ErrNoWeights = errors.New("no model weights are present: this build has no core/model/weights/default.safetensors; run `make train` or pass --weights FILE")

// MaxWeightsBytes caps the size of a weight file read from a file or URL.
const MaxWeightsBytes = 64 << 20

var defaultOnce = sync.OnceValues(func() (*Model, error) {
	data, err := embedded.ReadFile(DefaultWeightsPath)
	if err != nil {
		return nil, ErrNoWeights
	}
	w, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("embedded default weights: %w", err)
	}
	return New(w), nil
})

// Default returns the embedded default model, decoded once and shared.
func Default() (*Model, error) { return defaultOnce() }

// DefaultWeightsBytes returns the embedded weight file (for serving it to browsers).
func DefaultWeightsBytes() ([]byte, error) {
	data, err := embedded.ReadFile(DefaultWeightsPath)
	if err != nil {
		return nil, ErrNoWeights
	}
	return data, nil
}

// Load reads a model from a file path, or from an http(s) URL.
func Load(ctx context.Context, src string) (*Model, error) {
	var data []byte
	var err error
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		data, err = fetch(ctx, src)
	} else {
		data, err = readCapped(src)
	}
	if err != nil {
		return nil, err
	}
	w, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	return New(w), nil
}

func readCapped(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("model: open weights: %w", err)
	}
	defer f.Close()
	return capped(f, path)
}

func capped(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxWeightsBytes+1))
	if err != nil {
		return nil, fmt.Errorf("model: read weights %s: %w", name, err)
	}
	if len(data) > MaxWeightsBytes {
		return nil, fmt.Errorf("model: weights %s are larger than %d MiB", name, MaxWeightsBytes>>20)
	}
	return data, nil
}

// Weights from a URL: a client of their own (http.DefaultClient never
// times out), so that a server that accepts and never answers, or answers
// a byte a minute, fails instead of hanging. The caller's deadline (--timeout)
// applies on top.
var (
	fetchDialTimeout   = 10 * time.Second
	fetchHeaderTimeout = 30 * time.Second
	fetchTotalTimeout  = 5 * time.Minute
)

func fetch(ctx context.Context, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTotalTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("model: weights URL %s: %w", url, err)
	}
	client := &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: fetchDialTimeout}).DialContext,
		TLSHandshakeTimeout:   fetchDialTimeout,
		ResponseHeaderTimeout: fetchHeaderTimeout,
	}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, fmt.Errorf("model: fetch weights %s: no answer in time (timeout): %w", url, err)
		}
		return nil, fmt.Errorf("model: fetch weights: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("model: fetch weights %s: HTTP %s", url, resp.Status)
	}
	if resp.ContentLength > MaxWeightsBytes {
		return nil, fmt.Errorf("model: weights %s are larger than %d MiB (Content-Length %d)", url, MaxWeightsBytes>>20, resp.ContentLength)
	}
	data, err := capped(resp.Body, url)
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("model: fetch weights %s: timeout reading the body: %w", url, ctx.Err())
	}
	return data, err
}
