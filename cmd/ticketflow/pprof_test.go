package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow/ticketflow/internal/config"
	"github.com/ticketflow/ticketflow/internal/loadtest"
)

func TestPprof_ServesProfilesOnItsOwnListener(t *testing.T) {
	a := NewApp(config.Config{PprofAddr: "127.0.0.1:0", ShutdownGrace: time.Second}, slog.New(slog.DiscardHandler))
	comps := a.withPprof(nil)
	if len(comps) != 1 || len(comps[0].loops) != 1 || comps[0].handler != nil {
		t.Fatalf("PPROF_ADDR set: components %+v, want one loop and nothing on the API's router", comps)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- a.servePprof(ctx, "127.0.0.1:0", func(ad net.Addr) { addrc <- ad }) }()
	var base string
	select {
	case ad := <-addrc:
		base = "http://" + ad.String()
	case err := <-done:
		t.Fatal(err)
	}
	get := func(path string) string {
		t.Helper()
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, res.StatusCode, raw)
		}
		return string(raw)
	}
	if h, err := loadtest.ParseHeapProfile(get("/debug/pprof/heap?debug=1&gc=1")); err != nil || h.HeapInuseMiB <= 0 {
		t.Fatalf("heap profile: %+v, %v", h, err)
	}
	if n, err := loadtest.ParseGoroutineCount(get("/debug/pprof/goroutine?debug=1")); err != nil || n < 2 {
		t.Fatalf("goroutines: %d, %v", n, err)
	}
	if idx := get("/debug/pprof/"); !strings.Contains(idx, "goroutine") {
		t.Fatalf("index: %s", idx)
	}
	if prof := get("/debug/pprof/profile?seconds=1"); len(prof) == 0 {
		t.Fatal("empty CPU profile")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("stop: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the pprof listener did not stop with its context")
	}
}

func TestPprof_OffWithoutAnAddress(t *testing.T) {
	a := NewApp(config.Config{}, slog.New(slog.DiscardHandler))
	in := []component{{name: "helpdesk"}}
	if out := a.withPprof(in); len(out) != 1 || out[0].name != "helpdesk" {
		t.Fatalf("PPROF_ADDR empty: components %+v", out)
	}
}

func TestPprof_AnAddressItCannotBindStopsTheProcess(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	a := NewApp(config.Config{PprofAddr: taken.Addr().String(), ShutdownGrace: time.Second}, slog.New(slog.DiscardHandler))
	err = a.withPprof(nil)[0].loops[0](context.Background())
	if err == nil || !strings.Contains(err.Error(), "PPROF_ADDR") {
		t.Fatalf("err = %v, want one naming PPROF_ADDR", err)
	}
}
