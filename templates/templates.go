// Package templates is the area of message templates: the list a tenant
// sees (the read model the inbox projector keeps), keeping it in step with
// Meta (a sync every 6 hours, when a number is connected and when asked),
// creating and deleting templates at Meta, and the check a template send
// must pass (CheckSend). What it learns from Meta it publishes as events —
// template.synced, template.created, template.deleted — so that a rebuild
// gives the read model back; it writes no read model itself.
package templates

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/messaging"
	"github.com/wam-project/wam/meta"
	"github.com/wam-project/wam/numbers"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/dberr"
	"github.com/wam-project/wam/sql/rls"
	"github.com/wam-project/wam/streams"
)

// Graph is the part of Meta's Graph API that templates need.
type Graph interface {
	Templates(ctx context.Context, wabaID, token string) ([]meta.Template, error)
	CreateTemplate(ctx context.Context, wabaID, token string, t meta.TemplateCreate) (id, status, category string, err error)
	DeleteTemplate(ctx context.Context, wabaID, token, name string) error
}

// Publisher appends events to the stream.
type Publisher interface {
	Publish(ctx context.Context, e streams.Event) (uint64, error)
}

// Credentials give a number of a WABA that may act for it, with its token.
type Credentials interface {
	ForWABA(ctx context.Context, tenant uuid.UUID, waba string) (numbers.Number, error)
}

// Options configure a Service; zero values take the defaults.
type Options struct {
	// Every is how long a WABA's last complete listing stands before the
	// worker lists its templates again (default 6 h).
	Every time.Duration
	// Check is how often the worker looks for WABAs due (default 1 h): a
	// WABA whose listing failed is tried again then.
	Check time.Duration
	// SyncTimeout bounds one tenant's sync, every page of every WABA
	// (default 2 min).
	SyncTimeout time.Duration
	// QueryTimeout bounds the worker's look for WABAs due (default 5 s).
	QueryTimeout time.Duration
	Logger       *slog.Logger
	Now          func() time.Time
}

func (o Options) withDefaults() Options {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Every, 6*time.Hour)
	def(&o.Check, time.Hour)
	def(&o.SyncTimeout, 2*time.Minute)
	def(&o.QueryTimeout, 5*time.Second)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Service is the templates area.
type Service struct {
	pool  *pgxpool.Pool
	q     *db.Queries
	pub   Publisher
	graph Graph
	creds Credentials
	o     Options

	mu   sync.Mutex
	runs map[uuid.UUID]*run // syncs under way, by tenant
	next map[uuid.UUID]*run // syncs to start after them
	base context.Context    // of the syncs the worker and nudges start (Run's)
	wg   sync.WaitGroup
}

// New returns the templates area reading the read models from pool,
// publishing to pub, and acting at Meta through graph with the tokens
// creds give. A nil graph refuses every call to Meta as unavailable.
func New(pool *pgxpool.Pool, pub Publisher, graph Graph, creds Credentials, o Options) *Service {
	return &Service{pool: pool, q: db.New(pool), pub: pub, graph: graph, creds: creds, o: o.withDefaults(),
		runs: map[uuid.UUID]*run{}, next: map[uuid.UUID]*run{}, base: context.Background()}
}

// Filter narrows List: each field that is set must match (Name: a part of
// the name); Cursor and Limit page through the list.
type Filter struct {
	Status, Category, Language, Name string
	Cursor                           string
	Limit                            int // 0: 50
}

// Page is a page of templates and the cursor of the next ("" when none).
type Page struct {
	Templates []db.Template
	Next      string
}

// List lists the tenant's templates that are not deleted, by name and
// language.
func (s *Service) List(ctx context.Context, tenant uuid.UUID, f Filter) (Page, error) {
	limit := cmp.Or(f.Limit, 50)
	p := db.ListTemplatesParams{TenantID: tenant, Lim: int32(limit) + 1,
		Status: upperOrNil(f.Status), Category: upperOrNil(f.Category), Language: orNil(f.Language)}
	if f.Name != "" {
		// LIKE's wildcards in a name asked for are meant literally.
		n := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(f.Name)
		p.Name = &n
	}
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor)
		if err != nil {
			return Page{}, invalid("cursor", "not a cursor this API returned")
		}
		p.After, p.CursorName, p.CursorLanguage, p.CursorID = true, c[0], c[1], c[2]
	}
	var rows []db.Template
	err := rls.InTenant(ctx, s.pool, tenant, func(q *db.Queries) (err error) {
		rows, err = q.ListTemplates(ctx, p)
		return err
	})
	if err != nil {
		return Page{}, dberr.Translate(err)
	}
	page := Page{Templates: rows}
	if len(rows) > limit {
		page.Templates = rows[:limit]
		last := rows[limit-1]
		page.Next = encodeCursor([3]string{last.Name, last.Language, last.TemplateID})
	}
	return page, nil
}

func encodeCursor(c [3]string) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) ([3]string, error) {
	var c [3]string
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, err
	}
	return c, json.Unmarshal(b, &c)
}

// Meta's rules for a new template's name and language.
var (
	nameRule     = regexp.MustCompile(`^[a-z0-9_]{1,512}$`)
	languageRule = regexp.MustCompile(`^[a-z]{2,3}(_[A-Za-z]{2,4})?$`)
)

// NewTemplate is a template to submit to Meta for review.
type NewTemplate struct {
	WABAID     string // "": the one WABA of the tenant's numbers
	Name       string
	Language   string
	Category   string // MARKETING, UTILITY or AUTHENTICATION
	Components json.RawMessage
}

// Create submits t to Meta and publishes template.created with the status
// Meta answered (PENDING while it reviews the template; the verdict comes
// by Meta's status webhook). It returns the template as the read model
// will hold it.
//
// Errors: ErrInvalid naming the field (and Meta's refusals); ErrConflict
// (the name exists in that language, or the WABA's token was refused);
// ErrTooMany (Meta's rate limits); ErrUnavailable.
func (s *Service) Create(ctx context.Context, c messaging.Caller, t NewTemplate) (db.Template, error) {
	t.Category = strings.ToUpper(t.Category)
	if err := checkNew(t); err != nil {
		return db.Template{}, err
	}
	waba, err := s.waba(ctx, c.Tenant, t.WABAID)
	if err != nil {
		return db.Template{}, err
	}
	token, err := s.token(ctx, c.Tenant, waba)
	if err != nil {
		return db.Template{}, err
	}
	if s.graph == nil {
		return db.Template{}, unavailable(errors.New("no Graph API"))
	}
	id, status, category, err := s.graph.CreateTemplate(ctx, waba, token, meta.TemplateCreate{
		Name: t.Name, Language: t.Language, Category: t.Category, Components: t.Components,
	})
	if err != nil {
		return db.Template{}, s.metaRefusal(err, waba, "the template")
	}
	at := s.o.Now().UTC()
	ev := domain.TemplateCreated{WABAID: waba, ActorUserID: c.UserID, At: at, Template: domain.TemplateInfo{
		ID: id, Name: t.Name, Language: t.Language, Status: cmp.Or(status, domain.TemplateStatusPending),
		Category: cmp.Or(category, t.Category), Components: t.Components,
	}}
	if _, err := s.publish(ctx, c, domain.EventTemplateCreated, "template.created:"+id, at, ev); err != nil {
		return db.Template{}, &domain.Error{Code: domain.ErrUnavailable, Cause: err,
			Message: fmt.Sprintf("Meta took template %s (id %s) but the event store is unavailable: it shows with the next sync", t.Name, id)}
	}
	return db.Template{TenantID: c.Tenant, TemplateID: id, WabaID: waba, Name: t.Name, Language: t.Language,
		Status: ev.Template.Status, Category: ev.Template.Category, Components: t.Components, UpdatedAt: at,
		Provisional: true, SyncedAt: &at, SeenAt: &at}, nil
}

// checkNew checks a new template as far as Meta's rules are simple: the
// rest Meta checks, and its refusal is passed on.
func checkNew(t NewTemplate) error {
	switch {
	case !nameRule.MatchString(t.Name):
		return invalid("name", "1 to 512 lower-case letters, digits and underscores")
	case !languageRule.MatchString(t.Language):
		return invalid("language", "a language code such as en or en_US")
	case t.Category != "MARKETING" && t.Category != "UTILITY" && t.Category != "AUTHENTICATION":
		return invalid("category", "MARKETING, UTILITY or AUTHENTICATION")
	}
	var comps []component
	if err := json.Unmarshal(t.Components, &comps); err != nil {
		return invalid("components", "an array of components")
	}
	bodies := 0
	for i, c := range comps {
		switch strings.ToUpper(c.Type) {
		case "BODY":
			bodies++
		case "HEADER", "FOOTER", "BUTTONS":
		default:
			return invalid(fmt.Sprintf("components.%d.type", i), "HEADER, BODY, FOOTER or BUTTONS")
		}
	}
	if bodies != 1 {
		return invalid("components", "one BODY component, %d given", bodies)
	}
	return nil
}

// Deleted is what a deletion did: template Name deleted from each of
// WABAIDs, recorded by the events of those stream sequences.
type Deleted struct {
	Name    string
	WABAIDs []string
	Events  []uint64
}

// Delete deletes template name at Meta, from WABA waba or from every WABA
// of the tenant that has it, and publishes template.deleted for each. Meta
// deletes a name in every language at once: with language given, the
// template must have no other.
//
// Errors: ErrNotFound; ErrConflict (other languages, a refused token);
// ErrInvalid (Meta's refusals); ErrTooMany; ErrUnavailable.
func (s *Service) Delete(ctx context.Context, c messaging.Caller, name, language, waba string) (Deleted, error) {
	out := Deleted{Name: name}
	var rows []db.TemplateLanguagesRow
	err := rls.InTenant(ctx, s.pool, c.Tenant, func(q *db.Queries) (err error) {
		rows, err = q.TemplateLanguages(ctx, db.TemplateLanguagesParams{TenantID: c.Tenant, Name: name, WabaID: orNil(waba)})
		return err
	})
	if err != nil {
		return out, dberr.Translate(err)
	}
	languages := map[string][]string{} // by WABA
	var wabas []string
	for _, r := range rows {
		if _, ok := languages[r.WabaID]; !ok {
			wabas = append(wabas, r.WabaID)
		}
		languages[r.WabaID] = append(languages[r.WabaID], r.Language)
	}
	if language != "" {
		var in []string
		for _, w := range wabas {
			if !slices.Contains(languages[w], language) {
				continue
			}
			if others := len(languages[w]) - 1; others > 0 {
				return out, domain.Errorf(domain.ErrConflict,
					"language: Meta deletes a template in every language at once, and %s is in %s too; delete it without language to delete it in all of them",
					name, strings.Join(languages[w], ", "))
			}
			in = append(in, w)
		}
		wabas = in
	}
	switch {
	case len(wabas) == 0 && language != "":
		return out, domain.Errorf(domain.ErrNotFound, "template %s in %s not found", name, language)
	case len(wabas) == 0:
		return out, domain.Errorf(domain.ErrNotFound, "template %s not found", name)
	}
	for _, w := range wabas {
		token, err := s.token(ctx, c.Tenant, w)
		if err != nil {
			return out, err
		}
		if s.graph == nil {
			return out, unavailable(errors.New("no Graph API"))
		}
		if err := s.graph.DeleteTemplate(ctx, w, token, name); err != nil && !gone(err) {
			return out, s.metaRefusal(err, w, "the deletion")
		}
		at := s.o.Now().UTC()
		id, err := uuid.NewV7()
		if err != nil {
			return out, err
		}
		seq, err := s.publish(ctx, c, domain.EventTemplateDeleted, "template.deleted:"+id.String(), at,
			domain.TemplateDeleted{WABAID: w, Name: name, ActorUserID: c.UserID, At: at})
		if err != nil {
			return out, &domain.Error{Code: domain.ErrUnavailable, Cause: err,
				Message: fmt.Sprintf("Meta deleted template %s but the event store is unavailable: it goes with the next sync", name)}
		}
		out.WABAIDs, out.Events = append(out.WABAIDs, w), append(out.Events, seq)
	}
	return out, nil
}

// gone reports whether Meta refused a deletion because the template does
// not exist (any more): what the deletion wanted.
func gone(err error) bool {
	var ge *meta.Error
	return errors.As(err, &ge) && ge.Code == meta.CodeInvalidParameter && ge.Subcode == 2593002
}

// waba is the WABA to act in: given, which must be one of the tenant's
// numbers', or the only one.
func (s *Service) waba(ctx context.Context, tenant uuid.UUID, given string) (string, error) {
	var wabas []string
	err := rls.InTenant(ctx, s.pool, tenant, func(q *db.Queries) (err error) {
		wabas, err = q.TenantWABAs(ctx, tenant)
		return err
	})
	switch {
	case err != nil:
		return "", dberr.Translate(err)
	case given != "" && slices.Contains(wabas, given):
		return given, nil
	case given != "":
		return "", invalid("waba_id", "not the WhatsApp Business Account of a number of this tenant")
	case len(wabas) == 1:
		return wabas[0], nil
	case len(wabas) == 0:
		return "", invalid("waba_id", "the tenant has no number connected with its WhatsApp Business Account id")
	}
	return "", invalid("waba_id", "required: the tenant's numbers are in %d WhatsApp Business Accounts", len(wabas))
}

// token is the access token of a number of WABA waba.
func (s *Service) token(ctx context.Context, tenant uuid.UUID, waba string) (string, error) {
	n, err := s.creds.ForWABA(ctx, tenant, waba)
	switch {
	case errors.Is(err, numbers.ErrNoNumber) || err == nil && n.Token == "":
		return "", domain.Errorf(domain.ErrConflict,
			"waba_id: no number of WhatsApp Business Account %s has an access token (connect one with POST /api/waba/credentials)", waba)
	case err != nil:
		return "", dberr.Translate(err)
	}
	return n.Token, nil
}

// metaRefusal is the error to answer when Meta refused what of WABA waba,
// or could not be asked.
func (s *Service) metaRefusal(err error, waba, what string) error {
	var ge *meta.Error
	if !errors.As(err, &ge) {
		s.o.Logger.Warn("graph api unreachable", "err", err, "waba_id", waba)
		return unavailable(err)
	}
	text := ge.Message
	if ge.Details != "" {
		text += ": " + ge.Details
	}
	switch {
	case ge.Code == meta.CodeAccessToken:
		return &domain.Error{Code: domain.ErrConflict, Cause: err, Message: fmt.Sprintf(
			"Meta refused the access token of WhatsApp Business Account %s's number (code 190): replace it (PATCH /api/waba/credentials/{id})", waba)}
	case ge.Code == meta.CodeInvalidParameter && ge.Subcode == 2388024:
		return &domain.Error{Code: domain.ErrConflict, Cause: err, Message: "name: a template of this name and language exists already (" + text + ")"}
	case ge.Code == 4 || ge.Code == 80007 || ge.Code == 80008 || ge.Code == meta.CodeThroughput:
		return &domain.Error{Code: domain.ErrTooMany, Cause: err, Message: fmt.Sprintf("Meta's rate limit (code %d): try again later", ge.Code)}
	case ge.Status >= 400 && ge.Status < 500:
		return &domain.Error{Code: domain.ErrInvalid, Cause: err, Message: fmt.Sprintf("Meta refused %s (code %d: %s)", what, ge.Code, text)}
	}
	return unavailable(err)
}

func unavailable(err error) error {
	return &domain.Error{Code: domain.ErrUnavailable, Cause: err, Message: "Meta's Graph API did not answer; try again"}
}

// publish stores an event of the templates area.
func (s *Service) publish(ctx context.Context, c messaging.Caller, typ, msgID string, at time.Time, body any) (uint64, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	return s.pub.Publish(ctx, streams.Event{Tenant: c.Tenant.String(), Type: typ, OccurredAt: at,
		RequestID: c.RequestID, Actor: c.Actor, MsgID: msgID, Data: data})
}

func orNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func upperOrNil(s string) *string { return orNil(strings.ToUpper(s)) }
