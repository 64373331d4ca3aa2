package model

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// forge rewrites the config inside the tiny test weights: the tensors stay
// as they are, as a hostile file would leave them.
func forge(t testing.TB, edit func(cfg map[string]any)) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/tiny.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(b[:8])
	var header map[string]any
	if err := json.Unmarshal(b[8:8+n], &header); err != nil {
		t.Fatal(err)
	}
	meta := header["__metadata__"].(map[string]any)
	var cfg map[string]any
	if err := json.Unmarshal([]byte(meta["config"].(string)), &cfg); err != nil {
		t.Fatal(err)
	}
	edit(cfg)
	c, _ := json.Marshal(cfg)
	meta["config"] = string(c)
	h, _ := json.Marshal(header)
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	return append(append(out, h...), b[8+n:]...)
}

func setNet(k string, v float64) func(map[string]any) {
	return func(cfg map[string]any) { cfg["net"].(map[string]any)[k] = v }
}

// ForgedWeights: a config declaring absurd sizes is refused with an error
// naming the limit before anything is allocated, never a makeslice panic
// or an out-of-memory death.
func TestHostileForgedWeights(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(map[string]any)
		want string
	}{
		{"layers 2^40", setNet("layers", 1<<40), "over the limits"},
		{"ctx 2^40", setNet("ctx", 1<<40), "over the limits"},
		{"d 2^20", func(c map[string]any) { setNet("d", 1<<20)(c); setNet("heads", 1)(c) }, "over the limits"},
		{"heads 2^40", setNet("heads", 1<<40), "invalid dimensions"},
		{"d 4096 layers 64", func(c map[string]any) { setNet("d", 4096)(c); setNet("layers", 64)(c) }, "parameters, over the limit"},
		{"ctx 65536 d 1024", func(c map[string]any) { setNet("ctx", 65536)(c); setNet("d", 1024)(c) }, "parameters, over the limit"},
		{"negative layers", setNet("layers", -1), "invalid dimensions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(forge(t, tc.edit))
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Decode: %v, want one line with %q", err, tc.want)
			}
		})
	}
	// a file that is untouched still loads, and the shipped size is far inside the budget
	if _, err := Decode(forge(t, func(map[string]any) {})); err != nil {
		t.Fatalf("the unforged file: %v", err)
	}
	if n := NewConfig(256, 6, 8, 1024).Net.NumParams(); n*3 > MaxParams {
		t.Fatalf("a d=256, 6-layer model has %d parameters: the budget %d leaves too little room", n, MaxParams)
	}
}

// A forged safetensors header length (2^62) is refused, not allocated.
func TestHostileWeightsHeaderLength(t *testing.T) {
	b := forge(t, func(map[string]any) {})
	binary.LittleEndian.PutUint64(b, 1<<62)
	if _, err := Decode(b); err == nil {
		t.Fatal("a header length of 2^62 was accepted")
	}
}

// Weights from a URL that never answers fail after the fetch timeouts (and
// at the caller's deadline), not never; a body over the size cap is refused
// from its Content-Length without reading it.
func TestHostileWeightsURL(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held []net.Conn
	go func() { // accept and never answer
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	old := fetchHeaderTimeout
	fetchHeaderTimeout = 300 * time.Millisecond
	defer func() { fetchHeaderTimeout = old }()
	done := make(chan error, 1)
	go func() {
		_, err := Load(context.Background(), "http://"+ln.Addr().String()+"/w.safetensors")
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "timeout") && !strings.Contains(err.Error(), "no answer") {
			t.Fatalf("a silent server: %v, want a timeout", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Load from a server that never answers did not return in 30 s")
	}

	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000000000")
		w.WriteHeader(http.StatusOK)
		w.Write(bytes.Repeat([]byte{0}, 1<<10))
	}))
	defer big.Close()
	_, err = Load(context.Background(), big.URL+"/w.safetensors")
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("a 100 GB answer: %v, want larger than", err)
	}
}
