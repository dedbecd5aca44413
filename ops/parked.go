package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/projections"
	"github.com/wam-project/wam/sql/db"
)

// Parked is an event a projector could not apply, with the event itself.
type Parked struct {
	Projector string
	Seq       uint64
	Subject   string
	Error     string
	ParkedAt  time.Time
	Header    nats.Header // nil when the event is no longer in the stream
	Data      []byte
}

// ParkedPage is a page of parked events, oldest first.
type ParkedPage struct {
	Events []Parked
	Next   uint64 // cursor (a sequence); 0: none
}

// ListParked pages through the parked events of every projector: all of
// them for operators, those of their tenant's subjects for a tenant's
// owners and admins.
func (s *Service) ListParked(ctx context.Context, by Actor, after uint64, limit int) (ParkedPage, error) {
	if err := by.mayManageHistory(); err != nil {
		return ParkedPage{}, err
	}
	prefix := ""
	if !by.Operator() {
		prefix = "wam." + by.TenantID.String() + "."
	}
	rows, err := s.q.ListParked(ctx, db.ListParkedParams{TenantSubject: prefix, After: int64(after), Lim: int32(limit) + 1})
	if err != nil {
		return ParkedPage{}, err
	}
	var p ParkedPage
	if len(rows) > limit {
		rows = rows[:limit]
		p.Next = uint64(rows[limit-1].Seq)
	}
	for _, r := range rows {
		ev := Parked{Projector: r.Projector, Seq: uint64(r.Seq), Subject: r.Subject, Error: r.Error, ParkedAt: r.ParkedAt.UTC()}
		m, err := s.rawMessage(ctx, ev.Seq)
		var de *domain.Error
		switch {
		case errors.As(err, &de) && de.Code == domain.ErrNotFound:
		case err != nil:
			return ParkedPage{}, err
		default:
			ev.Header, ev.Data = m.Header, m.Data
		}
		p.Events = append(p.Events, ev)
	}
	return p, nil
}

// RetryResult says what a retry did.
type RetryResult struct {
	Retried     int // events retried
	Applied     int // applied now, and no longer parked
	StillParked int // parked again
}

// RetryParked applies parked events again through their projector (after
// a fix): the event at seq of projector, or every parked event when seq is
// 0. Operators only; audited.
func (s *Service) RetryParked(ctx context.Context, by Actor, projector string, seq uint64) (RetryResult, error) {
	if !by.Operator() {
		return RetryResult{}, errOperatorsOnly
	}
	proj, err := s.projector(projector)
	if err != nil {
		return RetryResult{}, err
	}
	var res RetryResult
	var events []*projections.Event
	flush := func() error {
		if len(events) == 0 {
			return nil
		}
		n, err := proj.Reproject(ctx, events)
		if err != nil {
			return err
		}
		res.Retried += len(events)
		res.Applied += n
		res.StillParked += len(events) - n
		events = events[:0]
		return nil
	}
	add := func(seq uint64) error {
		m, err := s.rawMessage(ctx, seq)
		var de *domain.Error
		if errors.As(err, &de) && de.Code == domain.ErrNotFound {
			return nil // gone from the stream: only a discard helps
		}
		if err != nil {
			return err
		}
		events = append(events, projections.EventFromStream(m))
		if len(events) >= s.opts.Batch {
			return flush()
		}
		return nil
	}
	if seq != 0 {
		if _, err := s.q.GetParked(ctx, db.GetParkedParams{Projector: projector, Seq: int64(seq)}); errors.Is(err, pgx.ErrNoRows) {
			return RetryResult{}, domain.Errorf(domain.ErrNotFound, "no parked event %d of %s", seq, projector)
		} else if err != nil {
			return RetryResult{}, err
		}
		if err := add(seq); err != nil {
			return RetryResult{}, err
		}
	} else {
		for after := int64(0); ; {
			rows, err := s.q.ListParked(ctx, db.ListParkedParams{After: after, Lim: 500})
			if err != nil {
				return res, err
			}
			for _, r := range rows {
				after = r.Seq
				if r.Projector != projector {
					continue
				}
				if err := add(uint64(r.Seq)); err != nil {
					return res, err
				}
			}
			if len(rows) < 500 {
				break
			}
		}
	}
	if err := flush(); err != nil {
		return res, err
	}
	target := "all"
	if seq != 0 {
		target = fmt.Sprint(seq)
	}
	err = audit(ctx, s.q, by, "parked.retried", nil, projector+":"+target,
		map[string]any{"retried": res.Retried, "applied": res.Applied, "still_parked": res.StillParked})
	return res, err
}

// DiscardParked removes a parked event from the list for good, with the
// reason, audited in the same transaction. The event stays in the stream.
func (s *Service) DiscardParked(ctx context.Context, by Actor, projector string, seq uint64, reason string) error {
	if !by.Operator() {
		return errOperatorsOnly
	}
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 1000 {
		return domain.Errorf(domain.ErrInvalid, "reason: required, at most 1000 characters")
	}
	return s.inTx(ctx, func(q *db.Queries) error {
		p, err := q.GetParked(ctx, db.GetParkedParams{Projector: projector, Seq: int64(seq)})
		if errors.Is(err, pgx.ErrNoRows) {
			return domain.Errorf(domain.ErrNotFound, "no parked event %d of %s", seq, projector)
		}
		if err != nil {
			return err
		}
		if _, err := q.DeleteParked(ctx, db.DeleteParkedParams{Projector: projector, Seq: int64(seq)}); err != nil {
			return err
		}
		return audit(ctx, q, by, "parked.discarded", nil, fmt.Sprintf("%s:%d", projector, seq),
			map[string]any{"reason": reason, "subject": p.Subject, "error": p.Error})
	})
}
