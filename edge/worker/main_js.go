//go:build js && wasm

package main

import (
	"log/slog"
	"os"
	"syscall/js"

	"github.com/syumai/workers"
	"github.com/twig-project/twig/edge/proxy"
)

// The Worker: glue/entry.mjs starts this program for each request (a fresh
// Go instance: syumai/workers' model) with the request's env and binding;
// main serves that one request, then returns so the instance can go.
func main() {
	env := js.Global().Get("context").Get("env")
	c, err := proxy.LoadConfig(func(k string) (string, bool) { return envString(env, k) })
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err != nil {
		log.Error("configuration", "err", err.Error())
	}
	rt := proxy.Runtime{Transport: fetchTransport{}, Limiter: doLimiter{ns: env.Get("RATE_LIMITER")}, Upgrade: upgradePair, Dial: dialFetch, Logger: log}
	workers.ServeNonBlock(proxy.NewHandler(c, err, rt))
	workers.Ready()
	select {
	case <-workers.Done(): // the response body was read to its end
		select {
		case <-wsStarted: // it was a websocket's placeholder
		default:
			return
		}
	case <-wsStarted:
	}
	// A websocket's instance never returns: its sockets' events and the Go
	// timers still pending when the session ends would otherwise call into
	// an exited program. Once its sockets are closed and its timers have
	// fired, nothing refers to the instance and the isolate collects it.
	select {}
}

// envString reads a var or secret: a string as it is, an object (a TOML
// table in [vars]) as JSON.
func envString(env js.Value, k string) (string, bool) {
	v := env.Get(k)
	switch v.Type() {
	case js.TypeUndefined, js.TypeNull:
		return "", false
	case js.TypeString:
		return v.String(), true
	case js.TypeObject:
		return js.Global().Get("JSON").Call("stringify", v).String(), true
	}
	return js.Global().Get("String").Invoke(v).String(), true
}
