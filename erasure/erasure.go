// Package erasure erases one person's data for good: the events that name
// them in the stream, their media files, their read-model rows, leaving a
// tombstone (a keyed hash, not their number) so that neither a replay, a
// rebuild nor Meta delivering an old webhook again brings them back. The
// API (POST /api/contacts/{id}/erase) and the CLI (wam erase) call it.
package erasure

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wam-project/wam/accounts"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/dberr"
	"github.com/wam-project/wam/sql/rls"
	"github.com/wam-project/wam/streams"
)

// EventErased is the type of the tombstone event.
const EventErased = "contact.erased"

// HeaderRewrittenFrom marks an event written again without an erased
// person's data: the stream sequence of the original, which is deleted.
const HeaderRewrittenFrom = "Wam-Rewritten-From"

// Publisher appends events to the stream.
type Publisher interface {
	Publish(ctx context.Context, e streams.Event) (uint64, error)
}

// Options tunes a Service.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// Timeout bounds one erasure (a scan of the tenant's whole history);
	// default 10 min.
	Timeout time.Duration
}

// Service erases contacts and answers the projector which contacts are
// erased.
type Service struct {
	pool    *pgxpool.Pool
	js      jetstream.JetStream
	objects jetstream.ObjectStore // nil: no media store
	pub     Publisher
	key     []byte
	log     *slog.Logger
	now     func() time.Time
	timeout time.Duration

	mu     sync.RWMutex
	erased map[uuid.UUID]map[string]time.Time // tenant -> hash -> erased at
}

// New returns a Service; key is the secret of the tombstones' keyed hash
// (LoadKey).
func New(pool *pgxpool.Pool, js jetstream.JetStream, objects jetstream.ObjectStore, pub Publisher, key []byte, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Minute
	}
	return &Service{pool: pool, js: js, objects: objects, pub: pub, key: key, log: opts.Logger.With("area", "erasure"),
		now: opts.Now, timeout: opts.Timeout, erased: map[uuid.UUID]map[string]time.Time{}}
}

// LoadKey is the tombstones' secret: spec (WAM_ERASURE_KEY, base64 of 32
// bytes) when given, else a key kept in dir/erasure.key, made on first
// use. Losing it loses the tombstones' power to recognise the erased.
func LoadKey(spec, dir string) ([]byte, error) {
	if spec == "" {
		path := filepath.Join(dir, "erasure.key")
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			key := make([]byte, 32)
			if _, err := rand.Read(key); err != nil {
				return nil, err
			}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, err
			}
			b = []byte(base64.StdEncoding.EncodeToString(key) + "\n")
			if err := os.WriteFile(path, b, 0o600); err != nil {
				return nil, fmt.Errorf("keep the erasure key: %w", err)
			}
		} else if err != nil {
			return nil, fmt.Errorf("read the erasure key: %w", err)
		}
		spec = strings.TrimSpace(string(b))
	}
	key, err := base64.StdEncoding.DecodeString(spec)
	if err != nil || len(key) != 32 {
		return nil, errors.New("WAM_ERASURE_KEY: base64 of 32 random bytes expected")
	}
	return key, nil
}

// hash is the tombstone of a contact key of tenant.
func (s *Service) hash(tenant uuid.UUID, key string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(tenant.String()))
	m.Write([]byte{0})
	m.Write([]byte(key))
	return hex.EncodeToString(m.Sum(nil))
}

// Erased reports whether the contact key (a wa_id or a user id) of tenant
// was erased at or after at: what a webhook says of them from before
// their erasure is to be left out. It is the inbox projector's question
// (projections.Inbox.Erased), and costs a map lookup for tenants that
// never erased anyone.
func (s *Service) Erased(tenant uuid.UUID, key string, at time.Time) bool {
	s.mu.RLock()
	m := s.erased[tenant]
	s.mu.RUnlock()
	if len(m) == 0 || key == "" {
		return false
	}
	erasedAt, ok := m[s.hash(tenant, key)]
	return ok && !at.After(erasedAt)
}

func (s *Service) remember(tenant uuid.UUID, hash string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.erased[tenant]
	if m == nil {
		m = map[string]time.Time{}
		s.erased[tenant] = m
	}
	m[hash] = at
}

// Load reads the tombstones from PostgreSQL.
func (s *Service) Load(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rows, err := db.New(s.pool).AllErasures(ctx)
	if err != nil {
		return dberr.Translate(err)
	}
	for _, r := range rows {
		s.remember(r.TenantID, r.Hash, r.ErasedAt)
	}
	return nil
}

// Run reloads the tombstones every interval until ctx ends, so that the
// projector of each process learns of erasures made by the others.
func (s *Service) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := s.Load(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("load tombstones", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Result says what an erasure removed.
type Result struct {
	ContactID       uuid.UUID
	EventsDeleted   int
	EventsRewritten int
	MediaDeleted    int
	RowsDeleted     int
	TombstoneSeq    uint64
}

// ContactByPhone is the contact of tenant with phone number (or wa_id)
// phone, for the CLI.
func (s *Service) ContactByPhone(ctx context.Context, tenant uuid.UUID, phone string) (uuid.UUID, error) {
	e164, err := domain.NormalizePhone(phone)
	if err != nil {
		return uuid.Nil, domain.Errorf(domain.ErrInvalid, "phone: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	id, err := db.New(s.pool).ContactByPhone(ctx, db.ContactByPhoneParams{TenantID: tenant, Phone: e164, WaID: strings.TrimPrefix(e164, "+")})
	if err != nil {
		return uuid.Nil, dberr.Translate(dberr.NotFound(err, "contact"))
	}
	return id, nil
}

// person is what the read models know of the contact being erased.
type person struct {
	tenant    uuid.UUID
	id        uuid.UUID
	waID      string
	userID    string
	key       string
	ids       []string // every id that names them or what is theirs, as in events
	messages  []string
	media     []uuid.UUID
	numbers   map[string]bool // the tenant's phone number ids
	deleted   []int64
	rewritten int
}

// Erase erases the contact id of tenant. by is who asks, for the audit
// log.
func (s *Service) Erase(ctx context.Context, by accounts.Actor, tenant, id uuid.UUID) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	// A rebuild's shadow may have read the person's events before the scan
	// deletes them, and would swap them back in: one after the other.
	if job, err := db.New(s.pool).RunningRebuild(ctx, "inbox"); err == nil && s.now().Sub(job.UpdatedAt) < time.Minute {
		return Result{}, domain.Errorf(domain.ErrConflict, "a rebuild of the read models is running (%s); erase once it is done", job.ID)
	} else if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return Result{}, dberr.Translate(err)
	}
	p, err := s.find(ctx, tenant, id)
	if err != nil {
		return Result{}, err
	}
	erasedAt := s.now().UTC()
	hash := s.hash(tenant, p.key)
	// The tombstone first: from now on the projector leaves the person
	// out of whatever it applies, including events stored while the scan
	// below runs and Meta's deliveries of old webhooks.
	if err := rls.InTenant(ctx, s.pool, tenant, func(q *db.Queries) error {
		return q.RecordErasure(ctx, db.RecordErasureParams{TenantID: tenant, Hash: hash, ErasedAt: erasedAt})
	}); err != nil {
		return Result{}, dberr.Translate(err)
	}
	s.remember(tenant, hash, erasedAt)

	res := Result{ContactID: id}
	if err := s.scrubStream(ctx, p); err != nil {
		return res, err
	}
	res.EventsDeleted, res.EventsRewritten = len(p.deleted)-p.rewritten, p.rewritten
	if res.MediaDeleted, err = s.deleteMedia(ctx, p); err != nil {
		return res, err
	}
	s.forgetSends(ctx, p)

	tomb, _ := json.Marshal(map[string]any{"hash": hash, "erased_at": erasedAt.Format(time.RFC3339Nano)})
	res.TombstoneSeq, err = s.pub.Publish(ctx, streams.Event{Tenant: tenant.String(), Type: EventErased, OccurredAt: erasedAt,
		Actor: actorOf(by), RequestID: by.RequestID, MsgID: "erased:" + tenant.String() + ":" + hash, Data: tomb})
	if err != nil {
		return res, fmt.Errorf("publish the tombstone: %w", err)
	}
	// The rows last, after the live projector had its chance to apply what
	// the scan deleted: the tombstone keeps the person out of it anyway.
	err = rls.InTenant(ctx, s.pool, tenant, func(q *db.Queries) error {
		n, err := q.DeleteContactRows(ctx, db.DeleteContactRowsParams{TenantID: tenant, ContactID: id, MediaIds: p.media})
		if err != nil {
			return err
		}
		res.RowsDeleted = int(n)
		if err := q.FinishErasure(ctx, db.FinishErasureParams{TenantID: tenant, Hash: hash, TombstoneSeq: int64(res.TombstoneSeq),
			EventsDeleted: int32(res.EventsDeleted), EventsRewritten: int32(res.EventsRewritten), MediaDeleted: int32(res.MediaDeleted)}); err != nil {
			return err
		}
		return accounts.Audit(ctx, q, by, tenant, "contact.erased", id.String(), map[string]any{
			"hash": hash, "events_deleted": res.EventsDeleted, "events_rewritten": res.EventsRewritten,
			"media_deleted": res.MediaDeleted, "rows_deleted": res.RowsDeleted, "tombstone_seq": res.TombstoneSeq,
		})
	})
	if err != nil {
		return res, dberr.Translate(err)
	}
	// The webhook log and parked events of the deleted events, the unrouted
	// ones included (no tenant's, so not within the tenant's transaction).
	n, err := db.New(s.pool).DeleteEventRows(ctx, p.deleted)
	if err != nil {
		return res, dberr.Translate(err)
	}
	res.RowsDeleted += int(n)
	s.log.Info("contact erased", "tenant", tenant, "hash", hash, "events_deleted", res.EventsDeleted,
		"events_rewritten", res.EventsRewritten, "media_deleted", res.MediaDeleted, "rows_deleted", res.RowsDeleted)
	return res, nil
}

func actorOf(by accounts.Actor) string {
	switch {
	case by.UserID != uuid.Nil:
		return "user:" + by.UserID.String()
	case by.APIKeyID != uuid.Nil:
		return "api_key:" + by.APIKeyID.String()
	}
	return "system"
}

// find reads what the read models know of the contact.
func (s *Service) find(ctx context.Context, tenant, id uuid.UUID) (*person, error) {
	p := &person{tenant: tenant, id: id, numbers: map[string]bool{}}
	err := rls.InTenant(ctx, s.pool, tenant, func(q *db.Queries) error {
		c, err := q.ContactForErasure(ctx, db.ContactForErasureParams{TenantID: tenant, ID: id})
		if err != nil {
			return err
		}
		p.waID, p.userID = c.WaID, c.UserID
		p.key = c.WaID
		if p.key == "" {
			p.key = c.UserID
		}
		p.ids = append(p.ids, id.String(), c.WaID, c.UserID, c.Phone)
		rows, err := q.ContactFootprint(ctx, db.ContactFootprintParams{TenantID: tenant, ContactID: id})
		if err != nil {
			return err
		}
		for _, r := range rows {
			v := r.Value
			if v == "" {
				continue
			}
			p.ids = append(p.ids, v)
			switch r.Kind {
			case "message":
				p.messages = append(p.messages, v)
			case "media":
				if mid, err := uuid.Parse(v); err == nil && !slices.Contains(p.media, mid) {
					p.media = append(p.media, mid)
				}
			}
		}
		numbers, err := q.TenantPhoneNumberIDs(ctx, tenant)
		if err != nil {
			return err
		}
		for _, n := range numbers {
			p.numbers[n] = true
		}
		return nil
	})
	if err != nil {
		return nil, dberr.Translate(dberr.NotFound(err, "contact"))
	}
	if p.key == "" {
		return nil, domain.Errorf(domain.ErrConflict, "the contact has neither a wa_id nor a user id")
	}
	return p, nil
}

// scrubStream reads the tenant's whole history, and the unrouted webhooks
// of the tenant's numbers, and deletes (JetStream's secure delete: the
// bytes are overwritten) every event naming the person; a webhook that
// also holds others' data is published again without the person's, with
// the original's headers and Wam-Rewritten-From, before the original goes.
func (s *Service) scrubStream(ctx context.Context, p *person) error {
	st, err := s.js.Stream(ctx, streams.StreamName)
	if err != nil {
		return fmt.Errorf("stream: %w", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return fmt.Errorf("stream info: %w", err)
	}
	last := info.State.LastSeq
	if info.State.Msgs == 0 {
		return nil
	}
	cons, err := s.js.OrderedConsumer(ctx, streams.StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"wam." + p.tenant.String() + ".>", "wam." + streams.Unrouted + ".>"},
	})
	if err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	named := func(k string) bool { return k == p.waID || k == p.userID }
	for {
		b, err := cons.Fetch(500, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			return fmt.Errorf("fetch: %w", err)
		}
		got := 0
		for m := range b.Messages() {
			got++
			md, err := m.Metadata()
			if err != nil {
				return err
			}
			seq := md.Sequence.Stream
			if seq > last {
				return nil // stored after the scan began: the tombstone covers it
			}
			if err := s.scrubOne(ctx, st, p, m, seq, named); err != nil {
				return err
			}
			if seq == last || md.NumPending == 0 {
				return nil
			}
		}
		if err := b.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return fmt.Errorf("fetch: %w", err)
		}
		if got == 0 {
			ci, err := cons.Info(ctx)
			if err != nil {
				return fmt.Errorf("consumer info: %w", err)
			}
			if ci.NumPending == 0 {
				return nil
			}
		}
	}
}

func (s *Service) scrubOne(ctx context.Context, st jetstream.Stream, p *person, m jetstream.Msg, seq uint64, named func(string) bool) error {
	tenant, typ, _ := streams.ParseSubject(m.Subject())
	data := m.Data()
	if typ != streams.TypeWebhookMeta {
		if tenant == streams.Unrouted || !containsQuoted(data, p.ids) {
			return nil
		}
		// An event of the tenant's own (a send, an outcome, an action on a
		// conversation, a file) that names the person is about them.
		return s.secureDelete(ctx, st, p, seq)
	}
	if !containsQuoted(data, []string{p.waID, p.userID}) {
		return nil
	}
	var numbers map[string]bool
	if tenant == streams.Unrouted {
		numbers = p.numbers // only what came for the tenant's numbers
	}
	out, changed, empty, err := filterWebhook(data, named, numbers)
	if err != nil || !changed {
		return nil // not JSON, or not theirs: left alone
	}
	if !empty {
		h := nats.Header{}
		for k, v := range m.Headers() {
			if !strings.HasPrefix(k, "Nats-") && k != streams.HeaderType && k != streams.HeaderSchema &&
				k != streams.HeaderTenant && k != streams.HeaderOccurredAt && k != streams.HeaderRequestID && k != streams.HeaderActor {
				h[k] = v
			}
		}
		h.Set(HeaderRewrittenFrom, strconv.FormatUint(seq, 10))
		occurred, _ := time.Parse(time.RFC3339Nano, m.Headers().Get(streams.HeaderOccurredAt))
		if _, err := s.pub.Publish(ctx, streams.Event{Tenant: tenant, Type: typ, OccurredAt: occurred,
			RequestID: m.Headers().Get(streams.HeaderRequestID), Actor: m.Headers().Get(streams.HeaderActor),
			MsgID: "rewritten:" + strconv.FormatUint(seq, 10), Data: out, Header: h}); err != nil {
			return fmt.Errorf("publish event %d rewritten: %w", seq, err)
		}
		p.rewritten++
	}
	return s.secureDelete(ctx, st, p, seq)
}

func (s *Service) secureDelete(ctx context.Context, st jetstream.Stream, p *person, seq uint64) error {
	if err := st.SecureDeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("delete event %d: %w", seq, err)
	}
	p.deleted = append(p.deleted, int64(seq))
	return nil
}

// deleteMedia deletes the person's files from the object store.
func (s *Service) deleteMedia(ctx context.Context, p *person) (int, error) {
	if s.objects == nil {
		return 0, nil
	}
	n := 0
	for _, id := range p.media {
		err := s.objects.Delete(ctx, streams.MediaObject(p.tenant.String(), id.String()))
		switch {
		case err == nil:
			n++
		case errors.Is(err, jetstream.ErrObjectNotFound):
		default:
			return n, fmt.Errorf("delete media %s: %w", id, err)
		}
	}
	return n, nil
}

// forgetSends purges the sender's records of the person's messages
// (attempts by message id); there may be none.
func (s *Service) forgetSends(ctx context.Context, p *person) {
	kv, err := s.js.KeyValue(ctx, senderBucket)
	if err != nil {
		return
	}
	for _, id := range p.messages {
		if err := kv.Purge(ctx, id); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			s.log.Warn("purge send record", "err", err)
		}
	}
}

// senderBucket is the sender's key-value bucket of attempts (sender.stateBucket).
const senderBucket = "wam_sender"
