package kernels

//go:generate go run ./internal/asmgen
