package sender

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/wam-project/wam/meta"
	"github.com/wam-project/wam/numbers"
	"github.com/wam-project/wam/sql/db"
)

// number is what sending from a phone number needs, the token decrypted
// (kept in memory only, for a short while).
type number struct {
	tenant    uuid.UUID
	perSecond int
	perMinute int
	token     string
	sealed    []byte      // the token as stored, to tell a replaced one
	held      atomic.Bool // Meta refused the token (190): wait for a new one
	fetched   time.Time
}

// numberTTL is how long a number's settings are trusted before they are
// read again: a changed rate or token applies within it.
const numberTTL = 30 * time.Second

var errNoNumber = errors.New("no such number")

// number returns phone number pnid's sending settings, which must belong to
// tenant.
func (s *Sender) number(pnid string, tenant uuid.UUID) (*number, error) {
	s.mu.Lock()
	n := s.nums[pnid]
	s.mu.Unlock()
	if n != nil && s.opts.Now().Sub(n.fetched) < numberTTL {
		if n.tenant != tenant {
			return nil, errNoNumber
		}
		return n, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := s.creds.Number(ctx, tenant, pnid)
	if errors.Is(err, numbers.ErrNoNumber) {
		return nil, errNoNumber
	}
	if err != nil {
		return nil, err
	}
	n = &number{tenant: tenant, perSecond: got.PerSecond, perMinute: got.PerMinute, token: got.Token,
		sealed: got.Sealed, fetched: s.opts.Now()}
	// Without a token (connected by the CLI) there is nothing to send with.
	n.held.Store(!got.TokenValid || got.Token == "")
	s.mu.Lock()
	s.nums[pnid] = n
	s.mu.Unlock()
	return n, nil
}

func (s *Sender) forgetNumber(pnid string) {
	s.mu.Lock()
	delete(s.nums, pnid)
	s.mu.Unlock()
}

// hold records that Meta refused number pnid's token: its sends wait until
// the token is replaced (which resets its status), instead of failing one
// by one.
func (s *Sender) hold(pnid string, n *number, ge *meta.Error) {
	s.log.Warn("access token refused by Meta: holding the number's sends until it is replaced", "phone_number_id", pnid, "code", ge.Code)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	at := s.opts.Now().UTC()
	if err := s.q.InvalidateToken(ctx, db.InvalidateTokenParams{
		PhoneNumberID: pnid, AccessTokenEnc: n.sealed, Error: ge.Message, At: &at,
	}); err != nil {
		s.log.Error("record the refused token", "phone_number_id", pnid, "err", err)
	}
	n.held.Store(true)
}

// Held lists the numbers whose sends wait for a new token.
func (s *Sender) Held() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for pnid, n := range s.nums {
		if n.held.Load() {
			out = append(out, pnid)
		}
	}
	return out
}
