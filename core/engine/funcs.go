package engine

import (
	"context"

	"github.com/twig-project/twig/core/canvas"
)

// ThinkerFunc adapts a function to a Thinker.
type ThinkerFunc func(ctx context.Context, req ThinkRequest, emit func(delta string)) (string, error)

// Think calls f.
func (f ThinkerFunc) Think(ctx context.Context, req ThinkRequest, emit func(string)) (string, error) {
	return f(ctx, req, emit)
}

// PainterFunc adapts a function to a Painter.
type PainterFunc func(ctx context.Context, req PaintRequest, onStrip func(canvas.Strip)) error

// PaintBand calls f.
func (f PainterFunc) PaintBand(ctx context.Context, req PaintRequest, onStrip func(canvas.Strip)) error {
	return f(ctx, req, onStrip)
}

// CriticFunc adapts a function to a Critic.
type CriticFunc func(ctx context.Context, req CritiqueRequest) (Critique, error)

// Critique calls f.
func (f CriticFunc) Critique(ctx context.Context, req CritiqueRequest) (Critique, error) {
	return f(ctx, req)
}

// DeciderFunc adapts a function to a Decider.
type DeciderFunc func(ctx context.Context, req DecideRequest) (bool, float64, error)

// ShouldThink calls f.
func (f DeciderFunc) ShouldThink(ctx context.Context, req DecideRequest) (bool, float64, error) {
	return f(ctx, req)
}

// FuncBackend is a Backend made of a function that gives each run its
// roles; its runs have nothing to close. Handy for stateless (e.g. remote)
// roles and for tests.
type FuncBackend struct {
	// Bands is the default number of bands.
	Bands int
	// NewRoles gives a run its roles.
	NewRoles func(ctx context.Context, spec RunSpec) (Roles, error)
}

// NewRun calls b.NewRoles.
func (b FuncBackend) NewRun(ctx context.Context, spec RunSpec) (Run, error) {
	r, err := b.NewRoles(ctx, spec)
	if err != nil {
		return nil, err
	}
	return rolesRun(r), nil
}

// DefaultBands returns b.Bands.
func (b FuncBackend) DefaultBands() int { return b.Bands }

type rolesRun Roles

func (r rolesRun) Roles() Roles { return Roles(r) }
func (rolesRun) Close() error   { return nil }
