package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"

	"github.com/ticketflow/ticketflow/internal/httpx"
)

// withPprof adds, when PPROF_ADDR is set, a component that serves the
// runtime profiles of net/http/pprof on a listener of its own: never on
// the API's listener, where the gateway would expose them, and outside
// the router, whose request timeout would cut a 30-second CPU profile.
// A PPROF_ADDR that cannot be bound stops the process at start.
func (a *App) withPprof(comps []component) []component {
	addr := a.Config.PprofAddr
	if addr == "" {
		return comps
	}
	return append(comps, component{name: "pprof", loops: []func(context.Context) error{
		func(ctx context.Context) error { return a.servePprof(ctx, addr, nil) },
	}})
}

// servePprof serves the profiles on addr until ctx ends. ready, when not
// nil, is told the bound address.
func (a *App) servePprof(ctx context.Context, addr string, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("PPROF_ADDR: listen on %s: %w", addr, err)
	}
	return httpx.Serve(ctx, a.Log, ln, pprofHandler(), a.Config.ShutdownGrace, ready)
}

// pprofHandler routes /debug/pprof/ as net/http/pprof registers it on the
// default mux, which this process does not serve.
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
