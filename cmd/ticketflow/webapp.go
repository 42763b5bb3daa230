package main

import (
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"strings"

	"github.com/ticketflow/ticketflow/deploy"
	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/httpx"
)

// apiPrefixes are the paths of the services and of the gateway's Temporal
// UI: the web app never answers for them, so a service this build lacks
// answers 404 as a problem rather than with the app's page.
var apiPrefixes = []string{"/auth", "/helpdesk", "/workflow", "/messaging", "/notifications", "/temporal"}

// webComponent serves the built web app (WEB_DIST) at "/" in `ticketflow
// dev`, as nginx does behind the gateway.
func (a *App) webComponent() component {
	dist := a.Config.WebDist
	if _, err := os.Stat(path.Join(dist, "index.html")); err != nil {
		a.Log.Info("web app not built: / answers 404 until it is (cd web && npm ci && npm run build)", "web_dist", dist)
	}
	return component{name: "web", prefix: "/", handler: newWebApp(os.DirFS(dist), a.Log)}
}

// newWebApp serves a single-page app from dist: its files as they are,
// hashed assets under /assets/ cached for a year, and index.html, never
// cached, for every other page the browser navigates to, so that the
// app's router can show it.
func newWebApp(dist fs.FS, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := path.Clean("/" + r.URL.Path)
		if isAPIPath(p) {
			httpx.Error(w, r, log, apperr.New(apperr.NotFound, "no such route"))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			httpx.Error(w, r, log, apperr.New(apperr.NotAllowed, "method not allowed"))
			return
		}
		name := strings.TrimPrefix(p, "/")
		if name != "" && name != "index.html" {
			if st, err := fs.Stat(dist, name); err == nil && !st.IsDir() {
				if strings.HasPrefix(name, "assets/") {
					w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
				} else {
					w.Header().Set("Cache-Control", "no-cache")
				}
				w.Header().Set("X-Content-Type-Options", "nosniff")
				http.ServeFileFS(w, r, dist, name)
				return
			}
			// A missing asset or file is missing, not a page of the app.
			if strings.HasPrefix(name, "assets/") || path.Ext(name) != "" {
				http.NotFound(w, r)
				return
			}
		}
		index, err := fs.ReadFile(dist, "index.html")
		if errors.Is(err, fs.ErrNotExist) {
			http.Error(w, "The web app is not built: run npm ci && npm run build in web/.", http.StatusNotFound)
			return
		}
		if err != nil {
			httpx.Error(w, r, log, err)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		// The gateway's own policy (deploy/nginx/csp.conf), so that the app
		// runs here, and in the browser test, under the production CSP. The
		// one difference: the WebSocket source is ws:// on this plain HTTP
		// server, where the gateway's is wss://.
		h.Set("Content-Security-Policy", deploy.ContentSecurityPolicy(devWSScheme(r), r.Host))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(index)
		}
	})
}

// isAPIPath reports whether p belongs to a service rather than the app.
func isAPIPath(p string) bool {
	for _, prefix := range apiPrefixes {
		if p == prefix || strings.HasPrefix(p, prefix+"/") {
			return true
		}
	}
	return false
}

// devWSScheme is the scheme of the WebSocket the app opens on the page's
// host: wss when the page came over TLS, ws on `ticketflow dev`'s plain HTTP.
func devWSScheme(r *http.Request) string {
	if r.TLS != nil {
		return "wss"
	}
	return "ws"
}
