//go:build !js

// Command webtool assembles and serves twig's browser build.
//
//	webtool dist -src web -wasm build/web/twig.wasm -weights FILE -out build/web
//	webtool serve -dir build/web -addr 127.0.0.1:8000
//
// dist copies the static files of web/, Go's wasm_exec.js and the weights
// into one deployable folder, and writes twig-weights.json (the weights'
// file name, size and SHA-256: the page caches the weights under that hash,
// so a new file is fetched once and an unchanged one never again). It prints
// the sizes that matter for a page load. serve is a tiny static server for
// trying the folder locally; it prints the URL.
package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/twig-project/twig/core/model"
)

// WeightsFile is the weights' name in the built folder; ManifestFile names them.
const (
	WeightsFile  = "twig-weights.safetensors"
	ManifestFile = "twig-weights.json"
)

// Manifest is twig-weights.json.
type Manifest struct {
	// File is the weight file, relative to the manifest.
	File string `json:"file"`
	// Bytes is its size.
	Bytes int `json:"bytes"`
	// SHA256 is the hex SHA-256 of the whole file; the page's cache key.
	SHA256 string `json:"sha256"`
	// FormatVersion is the weight format the file has (model.FormatVersion).
	FormatVersion int `json:"format_version"`
	// Model describes the network.
	Model string `json:"model"`
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "dist":
		err = dist(os.Args[2:])
	case "serve":
		err = serve(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "webtool:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: webtool dist -src web -wasm FILE -weights FILE -out DIR | webtool serve -dir DIR [-addr HOST:PORT]")
	os.Exit(2)
}

func dist(args []string) error {
	fl := flag.NewFlagSet("dist", flag.ExitOnError)
	src := fl.String("src", "web", "the static files")
	wasm := fl.String("wasm", "build/web/twig.wasm", "the built twig.wasm (already in -out, or copied there)")
	weights := fl.String("weights", "", "the weight file to ship")
	out := fl.String("out", "build/web", "the folder to fill")
	_ = fl.Parse(args)
	if *weights == "" {
		return errors.New("dist: -weights is required")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	// static files
	err := filepath.WalkDir(*src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(*src, path)
		return copyFile(filepath.Join(*out, rel), path)
	})
	if err != nil {
		return fmt.Errorf("dist: copying %s: %w", *src, err)
	}
	if err := copyFile(filepath.Join(*out, "wasm_exec.js"), filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js")); err != nil {
		return fmt.Errorf("dist: wasm_exec.js from the Go installation: %w", err)
	}
	if abs(*wasm) != abs(filepath.Join(*out, "twig.wasm")) {
		if err := copyFile(filepath.Join(*out, "twig.wasm"), *wasm); err != nil {
			return err
		}
	}
	// weights and manifest
	data, err := os.ReadFile(*weights)
	if err != nil {
		return err
	}
	w, err := model.Decode(data)
	if err != nil {
		return fmt.Errorf("dist: %s: %w", *weights, err)
	}
	sum := sha256.Sum256(data)
	m := Manifest{File: WeightsFile, Bytes: len(data), SHA256: hex.EncodeToString(sum[:]),
		FormatVersion: w.Config.Version, Model: model.New(w).Name()}
	if err := os.WriteFile(filepath.Join(*out, WeightsFile), data, 0o644); err != nil {
		return err
	}
	mj, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(filepath.Join(*out, ManifestFile), append(mj, '\n'), 0o644); err != nil {
		return err
	}
	// sizes
	wasmBytes, err := os.ReadFile(filepath.Join(*out, "twig.wasm"))
	if err != nil {
		return err
	}
	fmt.Printf("web: %s ready\n", *out)
	fmt.Printf("  twig.wasm      %6.2f MB (%.2f MB gzipped)\n", mb(len(wasmBytes)), mb(gzipSize(wasmBytes)))
	fmt.Printf("  weights        %6.2f MB (%.2f MB gzipped) from %s — %s\n", mb(len(data)), mb(gzipSize(data)), *weights, m.Model)
	if strings.Contains(*weights, "testdata") {
		fmt.Println("  note: these are the tiny test weights (core/model/weights/default.safetensors is missing)")
	}
	return nil
}

func abs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

func mb(n int) float64 { return float64(n) / 1e6 }

func gzipSize(b []byte) int {
	var buf bytes.Buffer
	z, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = z.Write(b)
	_ = z.Close()
	return buf.Len()
}

func copyFile(dst, src string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

func serve(args []string) error {
	fl := flag.NewFlagSet("serve", flag.ExitOnError)
	dir := fl.String("dir", "build/web", "the folder to serve")
	addr := fl.String("addr", "127.0.0.1:8000", "where to listen (port 0: any free port)")
	_ = fl.Parse(args)
	if _, err := os.Stat(filepath.Join(*dir, "twig.wasm")); err != nil {
		return fmt.Errorf("serve: %s has no twig.wasm: run `make web` first", *dir)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("serve: %w (is another demo running? try DEMO_ADDR=127.0.0.1:0)", err)
	}
	fmt.Printf("twig demo: http://%s/  (example site: http://%s/example/; Ctrl-C stops)\n", ln.Addr(), ln.Addr())
	files := http.FileServer(http.Dir(*dir))
	return http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache") // the page's own Cache API keeps the weights
		files.ServeHTTP(w, r)
	}))
}
