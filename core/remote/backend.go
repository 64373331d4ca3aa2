package remote

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twig-project/twig/core/engine"
)

// Kinds of backend a role can come from.
const (
	KindEmbedded = "embedded" // the embedded model (Config.Embedded)
	KindOpenAI   = "openai"   // chat completions (thinker, critic) or image edits (painter)
	KindTwig     = "twig"     // a twig gateway's model calls (POST /v1/calls)
)

// Kinds lists the kinds of backend.
func Kinds() []string { return []string{KindEmbedded, KindOpenAI, KindTwig} }

// Source says where one role comes from.
type Source struct {
	// Kind is KindEmbedded, KindOpenAI or KindTwig.
	Kind string
	// Endpoint is the upstream (not used for KindEmbedded).
	Endpoint Endpoint
}

// Config is a mixed backend: each role from its own source.
type Config struct {
	Thinker, Critic, Painter Source
	// Embedded plays the roles whose Kind is KindEmbedded (and then gives
	// the default number of bands); it may be nil when none is.
	Embedded engine.Backend
	// Options are the network settings of every remote role.
	Options Options
	// Templates are the prompts of the openai roles (nil: DefaultTemplates).
	Templates *Templates
}

// Backend is an engine.Backend whose roles are played by remote models,
// the embedded model, or a mix.
type Backend struct {
	c        Config
	thinker  engine.Thinker
	critic   engine.Critic
	painter  engine.Painter
	decider  *TwigCaller // the twig thinker's server decides in adaptive mode
	embedded bool
}

// NewBackend checks the configuration and makes the remote roles.
func NewBackend(c Config) (*Backend, error) {
	b := &Backend{c: c}
	if c.Templates == nil {
		b.c.Templates = DefaultTemplates()
	}
	for _, s := range []struct {
		role string
		src  Source
	}{{"thinker", c.Thinker}, {"critic", c.Critic}, {"painter", c.Painter}} {
		if err := b.add(s.role, s.src); err != nil {
			return nil, err
		}
	}
	if b.embedded && c.Embedded == nil {
		return nil, errors.New("remote: a role is embedded but no embedded model was given")
	}
	return b, nil
}

func (b *Backend) add(role string, s Source) error {
	o, tpl := b.c.Options, b.c.Templates
	var err error
	switch s.Kind {
	case KindEmbedded:
		b.embedded = true
	case KindTwig:
		var t *TwigCaller
		if t, err = NewTwigCaller(role, s.Endpoint, o); err != nil {
			return err
		}
		switch role {
		case "thinker":
			b.thinker = t
			if d, _ := NewTwigCaller("decider", s.Endpoint, o); d != nil {
				b.decider = d
			}
		case "critic":
			b.critic = t
		case "painter":
			b.painter = t
		}
	case KindOpenAI:
		switch role {
		case "thinker":
			b.thinker, err = NewThinker(s.Endpoint, o, tpl)
		case "critic":
			b.critic, err = NewCritic(s.Endpoint, o, tpl)
		case "painter":
			b.painter, err = NewEditPainter(s.Endpoint, o, tpl)
		}
	default:
		return fmt.Errorf("remote: %s: unknown backend %q: use %s", role, s.Kind, strings.Join(Kinds(), ", "))
	}
	return err
}

// Name describes each role's source for run_started (no keys).
func (b *Backend) Name() string {
	var parts []string
	for _, s := range []struct {
		role string
		src  Source
	}{{"thinker", b.c.Thinker}, {"critic", b.c.Critic}, {"painter", b.c.Painter}} {
		if s.src.Kind == KindEmbedded {
			name := "embedded"
			if n, ok := b.c.Embedded.(engine.Named); ok {
				name = n.Name()
			}
			parts = append(parts, s.role+": "+name)
			continue
		}
		parts = append(parts, fmt.Sprintf("%s: %s %s at %s", s.role, s.src.Kind, s.src.Endpoint.Model, s.src.Endpoint.Host()))
	}
	return strings.Join(parts, "; ")
}

// Geometry implements engine.Sizer: the canvas of the painter, an image
// model's own size (EditPainter), the far twig server's painter's canvas
// as far as it is known (TwigCaller), or a twig token model's.
func (b *Backend) Geometry() engine.Geometry {
	if s, ok := b.painter.(engine.Sizer); ok && b.c.Painter.Kind != KindEmbedded {
		return s.Geometry()
	}
	return engine.TokenGeometry
}

// DefaultBands is the embedded model's when it plays a role, else 3 (the paper's K).
func (b *Backend) DefaultBands() int {
	if b.embedded {
		return b.c.Embedded.DefaultBands()
	}
	return 3
}

// NewRun gives the run its roles: remote ones bound by the run's deadline
// (Options.RunTimeout), embedded ones from a run of the embedded model.
func (b *Backend) NewRun(ctx context.Context, spec engine.RunSpec) (engine.Run, error) {
	var deadline time.Time
	if d := b.c.Options.RunTimeout; d > 0 {
		deadline = time.Now().Add(d)
	}
	r := &run{}
	var er engine.Roles
	if b.embedded {
		var err error
		if r.inner, err = b.c.Embedded.NewRun(ctx, spec); err != nil {
			return nil, err
		}
		er = r.inner.Roles()
	}
	pick := func(kind string, remote, embedded any) any {
		if kind == KindEmbedded {
			return embedded
		}
		return withDeadline(remote, deadline)
	}
	if t := pick(b.c.Thinker.Kind, b.thinker, er.Thinker); t != nil {
		r.roles.Thinker = t.(engine.Thinker)
	}
	if c := pick(b.c.Critic.Kind, b.critic, er.Critic); c != nil {
		r.roles.Critic = c.(engine.Critic)
	}
	if p := pick(b.c.Painter.Kind, b.painter, er.Painter); p != nil {
		r.roles.Painter = p.(engine.Painter)
	}
	if t, ok := r.roles.Painter.(*TwigCaller); ok {
		// the far server's painter's canvas, asked once (GET /models)
		if err := t.learnGeometry(ctx); err != nil {
			r.Close()
			return nil, err
		}
	}
	adaptive := spec.Settings.Adaptive && spec.Settings.Think
	switch {
	case b.c.Thinker.Kind == KindEmbedded:
		r.roles.Decider = er.Decider
	case b.decider != nil && adaptive:
		r.roles.Decider = withDeadline(b.decider, deadline).(engine.Decider)
	}
	return r, nil
}

// withDeadline returns a copy of a remote role bound to the run's deadline.
func withDeadline(role any, d time.Time) any {
	switch x := role.(type) {
	case *Thinker:
		y := *x
		y.ch.c.deadline = d
		return &y
	case *Critic:
		y := *x
		y.ch.c.deadline = d
		return &y
	case *EditPainter:
		y := *x
		y.c.deadline = d
		return &y
	case *TwigCaller:
		y := *x
		y.c.deadline = d
		return &y
	}
	return role
}

type run struct {
	roles engine.Roles
	inner engine.Run
}

func (r *run) Roles() engine.Roles { return r.roles }

func (r *run) Close() error {
	if r.inner != nil {
		return r.inner.Close()
	}
	return nil
}
