package main

import (
	"context"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/model"
)

// Backend is the model a command runs on.
type Backend = engine.Backend

// backendOptions are what the command line says about the model.
type backendOptions struct {
	// Weights is a weights file or URL (--weights); empty = the embedded default.
	Weights string
}

// defaultBackend returns the model twig draws with: the weights named by
// --weights, or the embedded default.
func defaultBackend(ctx context.Context, opts backendOptions) (Backend, error) {
	return loadModel(ctx, opts)
}

func loadModel(ctx context.Context, opts backendOptions) (*model.Model, error) {
	if opts.Weights != "" {
		return model.Load(ctx, opts.Weights)
	}
	return model.Default()
}
