package workflow

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/ticketflow/ticketflow/internal/apperr"
)

// A webhook URL is attacker-controlled input that makes the server send
// requests: without a guard, an admin (or whoever stole an admin's token)
// could aim deliveries at the database, the metadata service of a cloud
// VM or anything else only reachable from inside. So, unless the
// development setting WEBHOOK_ALLOW_PRIVATE is on, a URL must name a
// public address: checked when it is registered (a clear 422) and again
// for every connection the deliverer opens (WebhookDialer's Control hook
// sees the address actually dialled, after DNS, so a name that resolves
// to a public address at registration and to 127.0.0.1 later, DNS
// rebinding, is still refused).

// maxWebhookURL bounds a webhook URL, in bytes.
const maxWebhookURL = 2048

// ErrBlockedAddress is wrapped by the errors of connections the guard
// refused.
var ErrBlockedAddress = errors.New("address not allowed for webhooks")

// blockedPrefixes are the ranges that netip's predicates do not cover but
// that are not the public internet either.
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64: may reach IPv4 inside
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("2002::/16"),       // 6to4: embeds any IPv4 address
	netip.MustParsePrefix("100::/64"),        // discard-only
}

// PublicAddress reports whether a webhook may connect to addr: not
// loopback, private, link-local, multicast, unspecified or otherwise
// reserved. IPv4-mapped IPv6 addresses are judged as the IPv4 address.
func PublicAddress(addr netip.Addr) bool {
	addr = addr.Unmap()
	if !addr.IsValid() || addr.IsLoopback() || addr.IsPrivate() || addr.IsUnspecified() ||
		addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() || addr.IsInterfaceLocalMulticast() ||
		addr.IsMulticast() {
		return false
	}
	for _, p := range blockedPrefixes {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// URLGuard checks webhook URLs and guards their connections.
type URLGuard struct {
	// AllowPrivate lets URLs and connections reach private, loopback and
	// other internal addresses: for development and tests only.
	AllowPrivate bool
	// Resolver looks host names up; nil means net.DefaultResolver.
	Resolver *net.Resolver
}

// invalidURL is the 422 of a refused URL.
func invalidURL(msg string) error {
	return apperr.WithFields(apperr.Unprocessable, "the webhook URL is not allowed", apperr.FieldError{Field: "url", Message: msg})
}

// Check validates a webhook URL as given by an admin and returns it
// normalized: absolute http or https, a host, no user name or password,
// no fragment, at most 2 KiB; and, unless AllowPrivate, a host that is
// (or resolves only to) public addresses. Every refusal is an
// Unprocessable error naming the field "url".
func (g URLGuard) Check(ctx context.Context, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", invalidURL("is required")
	}
	if len(raw) > maxWebhookURL || !utf8.ValidString(raw) {
		return "", invalidURL(fmt.Sprintf("must be a valid URL of at most %d bytes", maxWebhookURL))
	}
	if strings.ContainsAny(raw, " \t\r\n\x00") {
		return "", invalidURL("must not contain spaces or control characters")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", invalidURL("is not a valid URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", invalidURL("must be an http or https URL")
	case u.Opaque != "" || u.Host == "":
		return "", invalidURL("must be an absolute URL with a host")
	case u.User != nil:
		return "", invalidURL("must not contain a user name or password")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "", invalidURL("must not contain a fragment")
	}
	host := u.Hostname()
	if host == "" {
		return "", invalidURL("must name a host")
	}
	if p := u.Port(); p != "" {
		var n int
		if _, err := fmt.Sscanf(p, "%d", &n); err != nil || n < 1 || n > 65535 {
			return "", invalidURL("has an invalid port")
		}
	}
	if !g.AllowPrivate {
		if err := g.checkHost(ctx, host); err != nil {
			return "", err
		}
	}
	return u.String(), nil
}

// checkHost refuses a host that is, or resolves to, an internal address.
func (g URLGuard) checkHost(ctx context.Context, host string) error {
	if addr, err := netip.ParseAddr(host); err == nil {
		if !PublicAddress(addr) {
			return invalidURL("must not point at a private, loopback, link-local or otherwise internal address")
		}
		return nil
	}
	lower := strings.ToLower(strings.TrimSuffix(host, "."))
	if lower == "localhost" || strings.HasSuffix(lower, ".localhost") || strings.HasSuffix(lower, ".local") ||
		strings.HasSuffix(lower, ".internal") || !strings.Contains(lower, ".") {
		return invalidURL("must name a public host")
	}
	r := g.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := r.LookupNetIP(ctx, "ip", lower)
	if err != nil || len(addrs) == 0 {
		return invalidURL("has a host name that does not resolve")
	}
	for _, a := range addrs {
		if !PublicAddress(a) {
			return invalidURL("resolves to a private, loopback, link-local or otherwise internal address")
		}
	}
	return nil
}

// Control is a net.Dialer Control hook: it refuses, unless AllowPrivate, a
// connection to an address that is not public. It runs after DNS
// resolution, on the address about to be dialled.
func (g URLGuard) Control(network, address string, _ syscall.RawConn) error {
	if g.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrBlockedAddress, address)
	}
	if !PublicAddress(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrBlockedAddress, ap.Addr())
	}
	return nil
}

// Dialer returns a dialer whose every connection the guard checks.
func (g URLGuard) Dialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: g.Control}
}
