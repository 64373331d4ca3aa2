package main

import (
	"errors"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/twig-project/twig/core/remote"
)

// Remote backends: the flags draw and eval share to play the thinker,
// critic and painter with remote models (core/remote), each role from its
// own backend if need be. API keys come only from the environment or a
// file, never from a flag value.

// Environment variables holding API keys, by backend kind.
var keyEnv = map[string]string{remote.KindOpenAI: "OPENAI_API_KEY", remote.KindTwig: "TWIG_API_KEY"}

// Defaults by backend kind.
var (
	defaultBaseURL = map[string]string{remote.KindOpenAI: "https://api.openai.com/v1", remote.KindTwig: "http://127.0.0.1:8080/v1"}
	defaultModel   = map[string]map[string]string{
		remote.KindOpenAI: {"thinker": "gpt-4.1-mini", "critic": "gpt-4.1-mini", "painter": "gpt-image-1"},
		remote.KindTwig:   {"thinker": "twig", "critic": "twig", "painter": "twig"},
	}
)

var remoteRoles = []string{"thinker", "critic", "painter"}

// remoteFlags are the backend flags of a command.
type remoteFlags struct {
	backend, baseURL, model, keyFile, templates, editSize *string
	callTimeout, runTimeout                               *time.Duration
	retries                                               *int
	role                                                  map[string]*roleFlags
}

type roleFlags struct{ backend, url, model, keyFile *string }

func addRemoteFlags(fs *flagSet) *remoteFlags { return addRemoteFlagsAs(fs, "run-timeout") }

// addRemoteFlagsAs is addRemoteFlags with the remote run timeout under
// another name (twig serve has a --run-timeout of its own).
func addRemoteFlagsAs(fs *flagSet, runTimeoutFlag string) *remoteFlags {
	d := remote.DefaultOptions()
	kinds := strings.Join(remote.Kinds(), "|")
	f := &remoteFlags{
		backend:     fs.String("backend", remote.KindEmbedded, "where the roles run: "+kinds+" (README: Remote backends)"),
		baseURL:     fs.String("base-url", "", "API root of the remote backend (default: https://api.openai.com/v1 for openai, http://127.0.0.1:8080/v1 for twig)"),
		model:       fs.String("model", "", "model id for every remote role (default: gpt-4.1-mini / gpt-image-1 for openai, twig for twig)"),
		keyFile:     fs.String("api-key-file", "", "file holding the API key (default: $OPENAI_API_KEY or $TWIG_API_KEY by backend)"),
		templates:   fs.String("templates", "", "file of prompt templates overriding twig's (text/template blocks)"),
		editSize:    fs.String("edit-size", "", "size asked of an image-edit painter, e.g. 1024x1024 and the picture's size (default: none sent; a 1024×1024 picture)"),
		callTimeout: fs.Duration("call-timeout", d.CallTimeout, "limit for one remote call (one try)"),
		runTimeout:  fs.Duration(runTimeoutFlag, 0, "limit for all remote calls of one image, retries included; 0 = none"),
		retries:     fs.Int("retries", d.Retries, "retries of a remote call after 408, 409, 429, 5xx or network errors (with backoff, honouring Retry-After)"),
		role:        map[string]*roleFlags{},
	}
	for _, r := range remoteRoles {
		f.role[r] = &roleFlags{
			backend: fs.String(r+"-backend", "", "backend of the "+r+" ("+kinds+"; default: --backend)"),
			url:     fs.String(r+"-url", "", "API root of the "+r+" (default: --base-url)"),
			model:   fs.String(r+"-model", "", "model of the "+r+" (default: --model)"),
			keyFile: fs.String(r+"-api-key-file", "", "API key file of the "+r+" (default: --api-key-file)"),
		}
	}
	return f
}

// config resolves the flags: nil when every role is embedded. Errors are
// usage errors; no error or message ever holds a key.
func (f *remoteFlags) config() (*remote.Config, error) {
	var srcs [3]remote.Source
	allEmbedded := true
	for i, role := range remoteRoles {
		rf := f.role[role]
		kind := first(*rf.backend, *f.backend)
		if !slices.Contains(remote.Kinds(), kind) {
			return nil, usagef("unknown backend %q for the %s: use %s", kind, role, strings.Join(remote.Kinds(), ", "))
		}
		srcs[i].Kind = kind
		if kind == remote.KindEmbedded {
			continue
		}
		allEmbedded = false
		ep := remote.Endpoint{
			BaseURL: first(*rf.url, *f.baseURL, defaultBaseURL[kind]),
			Model:   first(*rf.model, *f.model, defaultModel[kind][role]),
		}
		key, err := apiKey(first(*rf.keyFile, *f.keyFile), keyEnv[kind])
		if err != nil {
			return nil, err
		}
		ep.APIKey = key
		if u, err := url.Parse(ep.BaseURL); err == nil && u.Host == "api.openai.com" && key == "" {
			return nil, usagef("the %s uses api.openai.com but no key is set: export %s or pass --api-key-file", role, keyEnv[kind])
		}
		srcs[i].Endpoint = ep
	}
	if allEmbedded {
		return nil, nil
	}
	if *f.callTimeout <= 0 || *f.runTimeout < 0 || *f.retries < 0 {
		return nil, usagef("--call-timeout must be positive, --run-timeout and --retries not negative")
	}
	c := &remote.Config{Thinker: srcs[0], Critic: srcs[1], Painter: srcs[2],
		Options: remote.Options{CallTimeout: *f.callTimeout, RunTimeout: *f.runTimeout, Retries: *f.retries, EditSize: *f.editSize}}
	if *f.retries == 0 {
		c.Options.Retries = -1
	}
	if *f.templates != "" {
		t, err := remote.LoadTemplates(*f.templates)
		if err != nil {
			return nil, usagef("%v", err)
		}
		c.Templates = t
	}
	return c, nil
}

// needsEmbedded reports whether a role of c is played by the embedded model.
func needsEmbedded(c *remote.Config) bool {
	for _, s := range []remote.Source{c.Thinker, c.Critic, c.Painter} {
		if s.Kind == remote.KindEmbedded {
			return true
		}
	}
	return false
}

// apiKey reads the key from file (when given) or the environment variable.
func apiKey(file, env string) (remote.Secret, error) {
	if file == "" {
		return remote.Secret(strings.TrimSpace(os.Getenv(env))), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is named below; never the content
		}
		return "", usagef("cannot read the API key file %s: %v", file, err)
	}
	key := strings.TrimSpace(string(b))
	if key == "" || strings.ContainsAny(key, " \t\r\n") {
		return "", usagef("the API key file %s must hold one key on one line", file)
	}
	return remote.Secret(key), nil
}

func first(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
