package notification_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/ticketflow/ticketflow/api/notification"
)

// sendGridKey is the API key the fake SendGrid expects.
const sendGridKey = "SG.test-key"

// sendGridRequest is a v3 mail-send request, the fields the tests check.
type sendGridRequest struct {
	Personalizations []struct {
		To []sendGridAddress `json:"to"`
	} `json:"personalizations"`
	From    sendGridAddress `json:"from"`
	Subject string          `json:"subject"`
	Content []struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"content"`
	Headers map[string]string `json:"headers"`
}

type sendGridAddress struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

// to is the request's one recipient.
func (r sendGridRequest) to() sendGridAddress { return r.Personalizations[0].To[0] }

// content returns the value of the part of the given type.
func (r sendGridRequest) content(typ string) string {
	for _, c := range r.Content {
		if c.Type == typ {
			return c.Value
		}
	}
	return ""
}

// fakeSendGrid is a local stand-in for SendGrid's v3 mail-send API. It
// checks every request as SendGrid would (method, path, key, JSON body of
// one recipient with a text and an HTML part) and answers with the
// statuses it was given, in order, then 202.
type fakeSendGrid struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	replies  []int
	received []sendGridRequest // every well-formed request
	accepted []sendGridRequest // those answered 202
}

func newFakeSendGrid(t *testing.T, replies ...int) *fakeSendGrid {
	f := &fakeSendGrid{t: t, replies: replies}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// mailer is a SendGrid transport pointed at the fake.
func (f *fakeSendGrid) mailer() notification.Mailer {
	return notification.NewSendGridMailer(notification.SendGridConfig{APIKey: sendGridKey, BaseURL: f.srv.URL})
}

func (f *fakeSendGrid) serve(w http.ResponseWriter, r *http.Request) {
	req, problem := f.check(r)
	if problem != "" {
		f.t.Errorf("fake SendGrid: bad request: %s", problem)
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"errors":[{"message":"`+problem+`"}]}`)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.received = append(f.received, req)
	status := http.StatusAccepted
	if len(f.replies) > 0 {
		status, f.replies = f.replies[0], f.replies[1:]
	}
	if status == http.StatusAccepted {
		f.accepted = append(f.accepted, req)
	}
	w.WriteHeader(status)
	if status >= 400 {
		_, _ = io.WriteString(w, `{"errors":[{"message":"the fake said no"}]}`)
	}
}

// check validates a request as the v3 API does; problem is empty when it
// is good.
func (f *fakeSendGrid) check(r *http.Request) (req sendGridRequest, problem string) {
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/v3/mail/send":
		return req, "wrong endpoint " + r.Method + " " + r.URL.Path
	case r.Header.Get("Authorization") != "Bearer "+sendGridKey:
		return req, "wrong authorization " + r.Header.Get("Authorization")
	case r.Header.Get("Content-Type") != "application/json":
		return req, "wrong content type " + r.Header.Get("Content-Type")
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		return req, "body is not JSON: " + err.Error()
	}
	switch {
	case len(req.Personalizations) != 1 || len(req.Personalizations[0].To) != 1 || req.to().Email == "":
		return req, "want one personalization with one recipient"
	case req.From.Email == "" || req.Subject == "":
		return req, "from and subject are required"
	case len(req.Content) != 2 || req.Content[0].Type != "text/plain" || req.Content[1].Type != "text/html":
		return req, "want a text/plain part, then a text/html one"
	}
	return req, ""
}

// requests returns the well-formed requests received so far.
func (f *fakeSendGrid) requests() []sendGridRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.received)
}

// sent returns the requests the fake accepted.
func (f *fakeSendGrid) sent() []sendGridRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.accepted)
}

// The credentials the test SMTP server accepts; the password has a space,
// as Gmail's app passwords do, to check the URL's percent-encoding.
const (
	smtpUser     = "ticketflow@example.com"
	smtpPassword = "app password"
)

// receivedMail is a message the test SMTP server took.
type receivedMail struct {
	from string
	to   []string
	data []byte
	user string // who signed in
	tls  bool   // whether the session was encrypted
}

// smtpServer is a real SMTP server in the test process (emersion/go-smtp)
// that offers STARTTLS with a certificate made for the test, requires
// AUTH PLAIN over TLS before MAIL, and keeps what it receives.
type smtpServer struct {
	addr      string
	rootCAs   *x509.CertPool
	mu        sync.Mutex
	mails     []receivedMail
	rcptReply []error // answers to RCPT TO, in order (nil accepts), then accept
}

func newSMTPServer(t *testing.T) *smtpServer {
	t.Helper()
	cert, roots := selfSignedCert(t)
	s := &smtpServer{rootCAs: roots}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &smtpSession{srv: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.AllowInsecureAuth = false
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return s
}

// url is the SMTP_URL of the server.
func (s *smtpServer) url() string {
	u := url.URL{Scheme: "smtp", User: url.UserPassword(smtpUser, smtpPassword), Host: s.addr, RawQuery: "starttls=required&auth=plain"}
	return u.String()
}

// mailer is an SMTP transport pointed at the server, trusting its certificate.
func (s *smtpServer) mailer(t *testing.T) notification.Mailer { return s.mailerFor(t, s.url()) }

// mailerFor is an SMTP transport for smtpURL that trusts the server's certificate.
func (s *smtpServer) mailerFor(t *testing.T, smtpURL string) notification.Mailer {
	t.Helper()
	m, err := notification.NewSMTPMailer(notification.SMTPConfig{
		URL:       smtpURL,
		TLSConfig: &tls.Config{RootCAs: s.rootCAs, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12},
		Timeout:   5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// answerRcpt sets the answers to the next RCPT TO commands.
func (s *smtpServer) answerRcpt(replies ...error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rcptReply = replies
}

// received returns the messages taken so far.
func (s *smtpServer) received() []receivedMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.mails)
}

type smtpSession struct {
	srv  *smtpServer
	conn *smtp.Conn
	user string
	from string
	to   []string
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != smtpUser || password != smtpPassword {
			return smtp.ErrAuthFailed
		}
		s.user = username
		return nil
	}), nil
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	if len(s.srv.rcptReply) > 0 {
		reply := s.srv.rcptReply[0]
		s.srv.rcptReply = s.srv.rcptReply[1:]
		if reply != nil {
			return reply
		}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, encrypted := s.conn.TLSConnectionState()
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	s.srv.mails = append(s.srv.mails, receivedMail{from: s.from, to: slices.Clone(s.to), data: data, user: s.user, tls: encrypted})
	return nil
}

func (s *smtpSession) Reset() { s.from, s.to = "", nil }

func (s *smtpSession) Logout() error { return nil }

// smtpReply is an SMTP server's answer with a code.
func smtpReply(code int, message string) error {
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}, Message: message}
}

// selfSignedCert makes a certificate for 127.0.0.1 and the pool that trusts it.
func selfSignedCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "ticketflow test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, roots
}

// unreachableSMTPMailer is an SMTP transport to a port nobody listens on.
func unreachableSMTPMailer(t *testing.T) notification.Mailer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	m, err := notification.NewSMTPMailer(notification.SMTPConfig{URL: "smtp://" + addr, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
