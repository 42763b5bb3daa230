package deploy

import (
	_ "embed" // nginx/csp.conf
	"fmt"
	"regexp"
	"strings"
)

// The Content-Security-Policy has one source of truth, nginx/csp.conf:
// the gateway sends it, and `ticketflow dev` (cmd/ticketflow/webapp.go)
// sends the same policy through ContentSecurityPolicy, so the browser test,
// which runs against `ticketflow dev`, runs the web app under the
// production policy.

//go:embed nginx/csp.conf
var cspConf string

// wssSourceVar is the nginx variable csp.conf puts in connect-src: the
// WebSocket origin of the host and port the browser used (gateway.conf's
// map of $http_host).
const wssSourceVar = "$gateway_wss_source"

// cspHeader finds the policy in csp.conf's add_header line.
var cspHeader = regexp.MustCompile(`(?m)^\s*add_header\s+Content-Security-Policy\s+"([^"]+)"\s+always;`)

// cspTemplate is csp.conf's policy, $gateway_wss_source still in it.
var cspTemplate = mustPolicy(cspConf)

// WSHostPattern is the Host header gateway.conf's map accepts as the
// WebSocket source (any other leaves connect-src at 'self'); a test holds
// the two equal.
var WSHostPattern = regexp.MustCompile(`^[A-Za-z0-9.:\[\]-]+$`)

func mustPolicy(conf string) string {
	m := cspHeader.FindAllStringSubmatch(conf, -1)
	if len(m) != 1 {
		panic(fmt.Sprintf("deploy/nginx/csp.conf: %d add_header Content-Security-Policy lines, want 1", len(m)))
	}
	return m[0][1]
}

// ContentSecurityPolicy returns nginx/csp.conf's policy for a page the
// browser loaded from host (the Host header), exactly as nginx fills it
// in, with the WebSocket source on wsScheme: "wss" behind the gateway's
// TLS. `ticketflow dev` serves plain HTTP and passes "ws": that scheme is
// the one difference between the two policies.
func ContentSecurityPolicy(wsScheme, host string) string {
	src := ""
	if WSHostPattern.MatchString(host) {
		src = wsScheme + "://" + host
	}
	return strings.ReplaceAll(cspTemplate, wssSourceVar, src)
}
