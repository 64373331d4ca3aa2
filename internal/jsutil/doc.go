//go:build !(js && wasm)

// Package jsutil holds the syscall/js helpers shared by the Cloudflare
// Worker (edge/worker) and the browser build (wasm/js). It has code only
// for GOOS=js GOARCH=wasm; this file keeps `go build ./...` and `go vet
// ./...` quiet natively.
package jsutil
