package kernels

//go:generate go run ./asmgen
