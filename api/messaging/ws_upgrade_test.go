package messaging

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/testenv"
)

// TestUpgrader_RefusalsAreProblemDocuments checks the upgrader's own
// refusals, which serveWS's checks leave for what only it can see (here a
// connection that cannot be taken over, as under HTTP/2).
func TestUpgrader_RefusalsAreProblemDocuments(t *testing.T) {
	t.Parallel()
	h := NewHandler(&Service{}, nil, nil, testenv.Logger(t))
	for _, tc := range []struct {
		name    string
		version string
		status  int
		code    apperr.Code
	}{
		{"bad version", "8", http.StatusBadRequest, apperr.Invalid},
		{"no hijacking", "13", http.StatusInternalServerError, apperr.Internal},
	} {
		req := httptest.NewRequest("GET", "/ws", nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", tc.version)
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		rec := httptest.NewRecorder() // not an http.Hijacker
		if _, err := h.upgrader.Upgrade(rec, req, nil); err == nil {
			t.Fatalf("%s: upgraded", tc.name)
		}
		if rec.Code != tc.status || rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%s: %d %q %s", tc.name, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
		var p struct {
			Status int         `json:"status"`
			Code   apperr.Code `json:"code"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != tc.status || p.Code != tc.code {
			t.Fatalf("%s: problem %s (%v)", tc.name, rec.Body, err)
		}
	}
}
