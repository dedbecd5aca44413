package media

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/meta"
	"github.com/wam-project/wam/numbers"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/streams"
)

// Run downloads customers' files until ctx ends: each pending media row
// due for an attempt is claimed (leased, so that the downloaders of other
// processes leave it alone), looked up at Meta for a fresh URL, downloaded
// with the number's token, checked against the SHA-256 of its webhook and
// stored, then recorded by media.stored. A failed attempt is tried again
// after a backoff, on its own: the inbox never waits for it. After
// MaxAttempts failures, or at once for a file that is not the one
// announced or too large, the file is recorded by media.failed and not
// stored.
//
// A file already in the object store (a rebuild remade its row pending)
// is recorded stored without being downloaded again.
func (s *Service) Run(ctx context.Context) {
	nudge := make(chan struct{}, 1)
	wake := func() {
		select {
		case nudge <- struct{}{}:
		default:
		}
	}
	if s.opts.Live != nil {
		sub, err := s.opts.Live.Subscribe(streams.LiveSubject("*", "media"), func(*nats.Msg) { wake() })
		if err != nil {
			s.log.Warn("media notices: looking every poll interval only", "err", err)
		} else {
			defer func() { _ = sub.Unsubscribe() }()
		}
	}
	slots := make(chan struct{}, s.opts.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	for ctx.Err() == nil {
		free := cap(slots) - len(slots)
		var rows []db.ClaimMediaDownloadsRow
		if free > 0 {
			var err error
			if rows, err = s.claim(ctx, free); err != nil && ctx.Err() == nil {
				s.log.Warn("claim media downloads", "err", err)
			}
		}
		for _, r := range rows {
			slots <- struct{}{}
			wg.Go(func() {
				defer func() { <-slots; wake() }()
				s.attempt(ctx, r)
			})
		}
		if free > 0 && len(rows) == free {
			continue // more may be due
		}
		wait := s.opts.Poll
		if free > 0 {
			wait = s.untilNext(ctx)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-nudge:
		case <-t.C:
		}
		t.Stop()
	}
}

// claim leases up to n due downloads.
func (s *Service) claim(ctx context.Context, n int) ([]db.ClaimMediaDownloadsRow, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	now := s.opts.Now()
	return s.q.ClaimMediaDownloads(ctx, db.ClaimMediaDownloadsParams{
		Now: now, LeaseUntil: now.Add(s.opts.AttemptTimeout + 30*time.Second), Lim: int32(n),
	})
}

// untilNext is how long until the next download is due, at most Poll.
func (s *Service) untilNext(ctx context.Context) time.Duration {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	next, err := s.q.NextMediaDownload(ctx)
	if err != nil {
		if !errors.Is(err, pgx.ErrNoRows) && ctx.Err() == nil {
			s.log.Warn("next media download", "err", err)
		}
		return s.opts.Poll
	}
	return min(max(next.Sub(s.opts.Now()), 0), s.opts.Poll)
}

// errMismatch: the bytes are not those the webhook announced.
var errMismatch = errors.New("the file's SHA-256 is not the one Meta announced")

// attempt tries to store one customer's file and records the outcome.
func (s *Service) attempt(ctx context.Context, r db.ClaimMediaDownloadsRow) {
	actx, cancel := context.WithTimeout(ctx, s.opts.AttemptTimeout)
	stored, err := s.fetch(actx, r)
	cancel()
	now := s.opts.Now().UTC()
	if ctx.Err() != nil {
		// Shutting down: due again at once, rather than when the lease
		// runs out.
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer rcancel()
		if err := s.q.ReleaseMediaDownload(rctx, db.ReleaseMediaDownloadParams{ID: r.ID, NextAttemptAt: &now}); err != nil {
			s.log.Warn("release a media download", "media_id", r.ID, "err", err)
		}
		return
	}
	if err == nil {
		body, _ := json.Marshal(domain.MediaStored{MediaID: r.ID, MimeType: stored.MimeType, Size: stored.Size, SHA256: stored.SHA256, At: now})
		if err = s.publish(ctx, r.TenantID, domain.EventMediaStored, "media-stored-"+r.ID.String(), "system", "", now, body); err == nil {
			s.log.Debug("media stored", "media_id", r.ID, "size", stored.Size)
			return
		}
	}
	attempts := int(r.Attempts) + 1
	final := errors.Is(err, errMismatch) || errors.Is(err, meta.ErrMediaTooLarge) || attempts >= s.opts.MaxAttempts
	text := errorText(err)
	if final {
		body, _ := json.Marshal(domain.MediaFailed{MediaID: r.ID, Error: text, Attempts: attempts, At: now})
		perr := s.publish(ctx, r.TenantID, domain.EventMediaFailed, "media-failed-"+r.ID.String(), "system", "", now, body)
		if perr == nil {
			s.log.Warn("media download failed for good", "media_id", r.ID, "attempts", attempts, "err", text)
			return
		}
		err = perr // not recorded: tried again
	}
	wait := s.backoff(attempts)
	s.log.Info("media download failed; trying again", "media_id", r.ID, "attempt", attempts, "retry_in", wait, "err", text)
	pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
	defer pcancel()
	next := now.Add(wait)
	if err := s.q.PostponeMediaDownload(pctx, db.PostponeMediaDownloadParams{
		ID: r.ID, Attempts: int32(attempts), NextAttemptAt: &next, Error: text,
	}); err != nil {
		s.log.Warn("postpone media download", "media_id", r.ID, "err", err) // the lease runs out instead
	}
}

// fetch stores the file of r, unless the object store has it already, and
// returns what was stored.
func (s *Service) fetch(ctx context.Context, r db.ClaimMediaDownloadsRow) (Info, error) {
	if in, _, err := s.info(ctx, r.TenantID, r.ID); err == nil {
		return in, nil
	} else if !errors.Is(err, errNotStored) {
		return Info{}, err
	}
	num, err := s.creds.Number(ctx, r.TenantID, r.PhoneNumberID)
	if errors.Is(err, numbers.ErrNoNumber) {
		return Info{}, fmt.Errorf("number %s is not connected", r.PhoneNumberID)
	}
	if err != nil {
		return Info{}, err
	}
	if num.Token == "" {
		return Info{}, fmt.Errorf("number %s has no access token to download with", r.PhoneNumberID)
	}
	// A fresh URL at each attempt: Meta's live about 5 minutes.
	mi, err := s.graph.Media(ctx, r.MetaMediaID, num.Token)
	if err != nil {
		return Info{}, err
	}
	if mi.FileSize > s.opts.MaxDownloadBytes {
		return Info{}, fmt.Errorf("%w: %d bytes, limit %d", meta.ErrMediaTooLarge, mi.FileSize, s.opts.MaxDownloadBytes)
	}
	want, err := claimedSum(r.Sha256, mi.SHA256)
	if err != nil {
		return Info{}, err
	}
	in := Info{ID: r.ID, Type: domain.MessageType(r.Type), MimeType: cmp.Or(r.MimeType, mi.MimeType), Filename: r.Filename, Animated: r.Animated}

	// The download streams into the object store through a check of its
	// hash: a file that is not the one announced ends the Put with an
	// error, and the object store keeps nothing of it.
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := s.graph.DownloadMedia(ctx, mi.URL, num.Token, pw, s.opts.MaxDownloadBytes)
		pw.CloseWithError(err)
		done <- err
	}()
	check := &sumReader{r: pr, h: sha256.New(), want: want}
	o, err := s.store.Put(ctx, in.objectMeta(r.TenantID), check)
	pr.CloseWithError(errors.New("the store stopped reading")) // ends the download if Put stopped early
	derr := <-done
	switch {
	case err == nil:
	case derr != nil && !errors.Is(err, errMismatch):
		return Info{}, derr // the download's error, not the pipe's echo of it
	default:
		return Info{}, err
	}
	in.Size, in.SHA256 = int64(o.Size), hex.EncodeToString(check.h.Sum(nil))
	return in, nil
}

// claimedSum decodes the SHA-256 Meta announced: base64 in the webhook
// (preferred, it is what the customer sent), hex in the lookup; nil when
// neither says (then any file is taken).
func claimedSum(webhook, lookup string) ([]byte, error) {
	for _, c := range []string{webhook, lookup} {
		if c == "" {
			continue
		}
		if b, err := hex.DecodeString(c); err == nil && len(b) == sha256.Size {
			return b, nil
		}
		if b, err := base64.StdEncoding.DecodeString(c); err == nil && len(b) == sha256.Size {
			return b, nil
		}
		return nil, fmt.Errorf("%w: %q is no SHA-256", errMismatch, c)
	}
	return nil, nil
}

// sumReader hashes what it reads, and at the end fails with errMismatch
// unless the hash is want (nil: any).
type sumReader struct {
	r    io.Reader
	h    hash.Hash
	want []byte
}

func (s *sumReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.h.Write(p[:n])
	if err == io.EOF && s.want != nil && !bytes.Equal(s.h.Sum(nil), s.want) {
		return n, errMismatch
	}
	return n, err
}

// backoff is the wait before attempt n+1: exponential, full jitter.
func (s *Service) backoff(n int) time.Duration {
	d := min(s.opts.RetryBase<<min(n-1, 20), s.opts.RetryMax)
	return d/2 + rand.N(d/2+1)
}

// errorText is err as the read model keeps it: one line, bounded.
func errorText(err error) string {
	t := domain.StorableText(strings.ReplaceAll(err.Error(), "\n", " "))
	if len(t) > 500 {
		t = t[:500]
	}
	return t
}
