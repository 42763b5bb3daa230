package notification

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"golang.org/x/sync/errgroup"

	"github.com/ticketflow/ticketflow/internal/apperr"
)

// Keywords the poller sets on the messages it is done with. It looks only
// at messages without flagDone, so a message a person has read in the
// mailbox is still processed.
const (
	flagDone     imap.Flag = "$TicketflowDone"
	flagRejected imap.Flag = "$TicketflowRejected"
)

// PollerConfig configures the mailbox poller.
type PollerConfig struct {
	// URL is the mailbox: imaps://user:password@host[:993] (TLS), or
	// imap://user:password@host[:143] (STARTTLS; ?starttls=off for a
	// plain connection, allowed only to a loopback address).
	URL string
	// Folder is the folder read, default INBOX.
	Folder string
	// ProcessedFolder, when set, receives each processed message; else
	// it stays and is flagged \Seen and $TicketflowDone.
	ProcessedFolder string
	// Interval is the pause between polls, default 30s.
	Interval time.Duration
	// WaitTimeout bounds the wait for a message's run before it is left
	// for the next poll, default 2m.
	WaitTimeout time.Duration
	// Batch is how many messages one poll takes, default 50.
	Batch int
	// TLS, when set, is used for TLS and STARTTLS (tests trust their
	// server's certificate with it).
	TLS *tls.Config
}

// Poller reads a mailbox and hands each new message to mail-in. A message
// is flagged (or moved) only after its run finished, so its ticket or
// comment is committed; one whose run does not finish in time, or that
// could not be stored, is read again at the next poll and finds its run
// (the workflow ID derives from its Message-ID).
type Poller struct {
	mail *MailIn
	cfg  PollerConfig
	u    *url.URL
	log  *slog.Logger
}

// NewPoller returns a poller of the mailbox cfg.URL names.
func NewPoller(mail *MailIn, cfg PollerConfig, log *slog.Logger) (*Poller, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "imap" && u.Scheme != "imaps") || u.Hostname() == "" || u.User == nil {
		return nil, errors.New("IMAP_URL must be imap://user:password@host[:port] or imaps://user:password@host[:port]")
	}
	if u.Scheme == "imap" && u.Query().Get("starttls") == "off" {
		ip := net.ParseIP(u.Hostname())
		if u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, errors.New("IMAP_URL: starttls=off sends the password in clear; allowed only to a loopback address")
		}
	}
	if cfg.Folder == "" {
		cfg.Folder = "INBOX"
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 30 * time.Second
	}
	if cfg.WaitTimeout <= 0 {
		cfg.WaitTimeout = 2 * time.Minute
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 50
	}
	return &Poller{mail: mail, cfg: cfg, u: u, log: log.With("mailbox", u.Host+"/"+cfg.Folder)}, nil
}

// Run polls until ctx ends; a failed poll is logged and tried again at
// the next interval.
func (p *Poller) Run(ctx context.Context) error {
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		if n, err := p.Poll(ctx); err != nil && ctx.Err() == nil {
			p.log.Warn("mailbox poll failed; trying again", "err", err, "processed", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// dial connects and logs in.
func (p *Poller) dial() (*imapclient.Client, error) {
	host := p.u.Host
	opts := &imapclient.Options{TLSConfig: p.cfg.TLS}
	var (
		c   *imapclient.Client
		err error
	)
	switch {
	case p.u.Scheme == "imaps":
		if p.u.Port() == "" {
			host = net.JoinHostPort(p.u.Hostname(), "993")
		}
		c, err = imapclient.DialTLS(host, opts)
	default:
		if p.u.Port() == "" {
			host = net.JoinHostPort(p.u.Hostname(), "143")
		}
		if p.u.Query().Get("starttls") == "off" {
			c, err = imapclient.DialInsecure(host, opts)
		} else {
			c, err = imapclient.DialStartTLS(host, opts)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", host, err)
	}
	pass, _ := p.u.User.Password()
	if err := c.Login(p.u.User.Username(), pass).Wait(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("log in to %s: %w", host, err)
	}
	return c, nil
}

// Poll processes the messages waiting in the folder, up to Batch, and
// returns how many it is done with.
func (p *Poller) Poll(ctx context.Context) (int, error) {
	c, err := p.dial()
	if err != nil {
		return 0, err
	}
	defer func() {
		_ = c.Logout().Wait()
		_ = c.Close()
	}()
	// Closing the connection ends any command waiting when ctx ends.
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()

	if _, err := c.Select(p.cfg.Folder, nil).Wait(); err != nil {
		return 0, fmt.Errorf("select %s: %w", p.cfg.Folder, err)
	}
	found, err := c.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{flagDone}}, nil).Wait()
	if err != nil {
		return 0, fmt.Errorf("search %s: %w", p.cfg.Folder, err)
	}
	uids := found.AllUIDs()
	if len(uids) > p.cfg.Batch {
		uids = uids[:p.cfg.Batch]
	}
	if len(uids) == 0 {
		return 0, nil
	}
	sizes, err := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
	if err != nil {
		return 0, fmt.Errorf("fetch sizes: %w", err)
	}
	type pending struct {
		uid imap.UID
		in  Ingested
	}
	var (
		runs  []pending
		done  int
		chunk []imap.UID
		size  int64
	)
	// Bodies are fetched a chunk at a time (one FETCH, bounded in bytes)
	// and stored side by side; the runs are then awaited together.
	flush := func() error {
		defer func() { chunk, size = chunk[:0], 0 }()
		if len(chunk) == 0 {
			return nil
		}
		got, err := p.ingestChunk(ctx, c, chunk)
		if err != nil {
			return err
		}
		for _, g := range got {
			switch {
			case apperr.Is(g.err, apperr.Unprocessable) || apperr.Is(g.err, apperr.TooLarge):
				// Ingest logged why; flagged, so it is not read again.
				if err := p.finish(c, g.uid, true); err != nil {
					return err
				}
				done++
			case g.err != nil:
				p.log.Warn("inbound e-mail not stored; trying again at the next poll", "uid", g.uid, "err", g.err)
			default:
				runs = append(runs, pending{g.uid, g.in})
			}
		}
		return nil
	}
	for _, s := range sizes {
		if s.RFC822Size > p.mail.MaxBytes() {
			// Refused without reading it; flagged so it is not fetched again.
			p.log.Warn("inbound e-mail refused: too large", "uid", s.UID, "size", s.RFC822Size, "max", p.mail.MaxBytes())
			if err := p.finish(c, s.UID, true); err != nil {
				return done, err
			}
			done++
			continue
		}
		if size+s.RFC822Size > maxChunkBytes {
			if err := flush(); err != nil {
				return done, err
			}
		}
		chunk, size = append(chunk, s.UID), size+s.RFC822Size
	}
	if err := flush(); err != nil {
		return done, err
	}
	for _, r := range runs {
		wctx, cancel := context.WithTimeout(ctx, p.cfg.WaitTimeout)
		res, err := r.in.Wait(wctx)
		cancel()
		if err != nil {
			p.log.Warn("inbound e-mail not processed yet; looking again at the next poll", "uid", r.uid, "workflow_id", r.in.WorkflowID, "err", err)
			continue
		}
		if err := p.finish(c, r.uid, res.Outcome == "rejected"); err != nil {
			return done, err
		}
		done++
	}
	return done, nil
}

// maxChunkBytes bounds the message bytes one FETCH brings into memory;
// ingestWorkers is how many messages of a chunk are stored at once.
const (
	maxChunkBytes = 32 << 20
	ingestWorkers = 8
)

// ingested is the result of storing one fetched message.
type ingested struct {
	uid imap.UID
	in  Ingested
	err error
}

// ingestChunk fetches the messages uids (in one FETCH, without setting
// \Seen) and stores each, ingestWorkers at a time. An error is returned
// only for the connection; each message carries its own.
func (p *Poller) ingestChunk(ctx context.Context, c *imapclient.Client, uids []imap.UID) ([]ingested, error) {
	body := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{body}}).Collect()
	if err != nil {
		return nil, fmt.Errorf("fetch messages: %w", err)
	}
	out := make([]ingested, len(msgs)) // fewer than uids when some were expunged meanwhile
	var g errgroup.Group
	g.SetLimit(ingestWorkers)
	for i, m := range msgs {
		g.Go(func() error {
			in, err := p.mail.Ingest(ctx, m.FindBodySection(body), SourceIMAP)
			out[i] = ingested{uid: m.UID, in: in, err: err}
			return nil
		})
	}
	_ = g.Wait()
	return out, nil
}

// finish flags a processed message done (and rejected), and moves it to
// the processed folder when one is set.
func (p *Poller) finish(c *imapclient.Client, uid imap.UID, rejected bool) error {
	flags := []imap.Flag{imap.FlagSeen, flagDone}
	if rejected {
		flags = append(flags, flagRejected)
	}
	set := imap.UIDSetNum(uid)
	if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: flags}, nil).Close(); err != nil {
		return fmt.Errorf("flag message %d: %w", uid, err)
	}
	if p.cfg.ProcessedFolder != "" {
		if _, err := c.Move(set, p.cfg.ProcessedFolder).Wait(); err != nil {
			return fmt.Errorf("move message %d to %s: %w", uid, p.cfg.ProcessedFolder, err)
		}
	}
	return nil
}
