package main

import (
	"context"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/model"
	"github.com/twig-project/twig/core/remote"
)

// Backend is the model a command runs on.
type Backend = engine.Backend

// backendOptions are what the command line says about the model.
type backendOptions struct {
	// Weights is a weights file or URL (--weights); empty = the embedded default.
	Weights string
	// Remote says which roles run on remote models (--backend and the
	// per-role flags); nil = every role on the embedded model.
	Remote *remote.Config
}

// defaultBackend returns the model twig draws with: the weights named by
// --weights, or the embedded default.
func defaultBackend(ctx context.Context, opts backendOptions) (Backend, error) {
	if opts.Remote == nil {
		return loadModel(ctx, opts)
	}
	c := *opts.Remote
	if needsEmbedded(&c) {
		m, err := loadModel(ctx, opts)
		if err != nil {
			return nil, err
		}
		c.Embedded = m
	}
	return remote.NewBackend(c)
}

func loadModel(ctx context.Context, opts backendOptions) (*model.Model, error) {
	if opts.Weights != "" {
		return model.Load(ctx, opts.Weights)
	}
	return model.Default()
}
