package meta

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// simTemplate is a message template of a WABA.
type simTemplate struct {
	Template
	waba    string
	created uint64 // order of creation, which listings follow
}

// templateName is the form Meta requires of template names.
var templateName = regexp.MustCompile(`^[a-z0-9_]{1,512}$`)

// templateLanguage is a language or locale code such as en, en_US, pt_BR.
var templateLanguage = regexp.MustCompile(`^[a-z]{2,3}(_[A-Za-z]{2,4})?$`)

// placeholder matches a template parameter, positional ({{1}}) or named
// ({{first_name}}).
var placeholder = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_]+)\s*\}\}`)

// positional matches a positional template parameter.
var positional = regexp.MustCompile(`\{\{\s*[0-9]+\s*\}\}`)

// AddTemplate gives WABA waba the template t at once, without review:
// APPROVED unless t.Status says otherwise. It returns the template's id.
func (s *Simulator) AddTemplate(waba string, t Template) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.Status == "" {
		t.Status = "APPROVED"
	}
	t.Category = strings.ToUpper(t.Category)
	return s.addTemplate(waba, t).ID
}

// addTemplate stores t under a new id; s.mu held.
func (s *Simulator) addTemplate(waba string, t Template) *simTemplate {
	t.ID = s.numericID()
	if len(t.Components) == 0 {
		t.Components = json.RawMessage(`[]`)
	}
	st := &simTemplate{Template: t, waba: waba, created: s.seq} // numericID moved seq on
	s.templates[t.ID] = st
	return st
}

// SetTemplateStatus changes the status of WABA waba's template name in
// language (APPROVED, REJECTED, PAUSED, DISABLED…) and announces it by a
// message_template_status_update webhook with reason.
func (s *Simulator) SetTemplateStatus(waba, name, language, status, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.findTemplate(waba, name, language)
	if t == nil {
		return fmt.Errorf("simulator: WABA %s has no template %s in %s", waba, name, language)
	}
	s.setTemplateStatus(t, status, reason)
	return nil
}

// setTemplateStatus changes t's status and sends the webhook; s.mu held.
func (s *Simulator) setTemplateStatus(t *simTemplate, status, reason string) {
	t.Status = status
	t.RejectedReason = ""
	if status == "REJECTED" {
		t.RejectedReason = reason
	}
	if reason == "" {
		reason = "NONE"
	}
	id, name, lang, category := t.ID, t.Name, t.Language, t.Category
	body := webhookEnvelope(t.waba, "message_template_status_update", s.now(), func(v *genObject) {
		v.str("event", status)
		v.literal("message_template_id", id)
		v.str("message_template_name", name)
		v.str("message_template_language", lang)
		v.str("reason", reason)
		v.str("message_template_category", category)
	})
	s.sched.at(s.now(), func() { s.hooks.send(body) })
}

// findTemplate is waba's template name in language; s.mu held.
func (s *Simulator) findTemplate(waba, name, language string) *simTemplate {
	for _, t := range s.templates {
		if t.waba == waba && t.Name == name && t.Language == language {
			return t
		}
	}
	return nil
}

// messageTemplates answers GET, POST and DELETE /{waba-id}/message_templates.
func (s *Simulator) messageTemplates(w http.ResponseWriter, r *http.Request, waba, token string) {
	s.mu.Lock()
	var e *simError
	switch {
	case token == "" || !s.knowsToken(token):
		e = errInvalidToken()
	case !s.reachesWABA(token, waba):
		e = errUnsupported(r.Method, waba)
	}
	s.mu.Unlock()
	if e != nil {
		s.reject(e).write(w)
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.listTemplates(w, r, waba)
	case http.MethodPost:
		s.createTemplate(w, r, waba)
	case http.MethodDelete:
		s.deleteTemplate(w, r, waba)
	default:
		unsupported(w, r.Method, waba)
	}
}

// defaultTemplateFields are the fields Meta lists when not asked for others.
var defaultTemplateFields = []string{"name", "components", "language", "status", "category", "id"}

// listTemplates lists a page of waba's templates in the order they were
// made, filtered by name (a part of it) and status; the cursors are
// positions in the filtered list.
func (s *Simulator) listTemplates(w http.ResponseWriter, r *http.Request, waba string) {
	q := r.URL.Query()
	limit := simPageSize
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			s.reject(errParam("Param limit must be a positive number")).write(w)
			return
		}
		limit = min(n, 1000)
	}
	start := 0
	if a := q.Get("after"); a != "" {
		b, err := base64.RawURLEncoding.DecodeString(a)
		n, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || n < 0 {
			s.reject(errParam("Param after is not a cursor of this listing")).write(w)
			return
		}
		start = n
	}
	fields := defaultTemplateFields
	if f := q.Get("fields"); f != "" {
		fields = strings.Split(f, ",")
	}
	s.mu.Lock()
	var list []*simTemplate
	for _, t := range s.templates {
		if t.waba == waba && strings.Contains(t.Name, q.Get("name")) && (q.Get("status") == "" || strings.EqualFold(q.Get("status"), t.Status)) {
			list = append(list, t)
		}
	}
	slices.SortFunc(list, func(a, b *simTemplate) int { return int(a.created) - int(b.created) })
	start = min(start, len(list))
	end := min(start+limit, len(list))
	data := make([]map[string]any, 0, end-start)
	for _, t := range list[start:end] {
		data = append(data, templateFields(t, fields))
	}
	s.mu.Unlock()
	cursor := func(i int) string { return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(i))) }
	answer := map[string]any{"data": data}
	if len(data) > 0 {
		paging := map[string]any{"cursors": map[string]string{"before": cursor(start), "after": cursor(end)}}
		if end < len(list) {
			paging["next"] = "https://graph.facebook.com/v23.0/" + waba + "/message_templates?limit=" + strconv.Itoa(limit) + "&after=" + cursor(end)
		}
		answer["paging"] = paging
	}
	writeJSON(w, answer)
}

// templateFields is t with the fields asked for; s.mu held.
func templateFields(t *simTemplate, fields []string) map[string]any {
	out := map[string]any{}
	for _, f := range fields {
		switch strings.TrimSpace(f) {
		case "id":
			out["id"] = t.ID
		case "name":
			out["name"] = t.Name
		case "language":
			out["language"] = t.Language
		case "status":
			out["status"] = t.Status
		case "category":
			out["category"] = t.Category
		case "components":
			out["components"] = t.Components
		case "rejected_reason":
			out["rejected_reason"] = cmpOr(t.RejectedReason, "NONE")
		case "parameter_format":
			out["parameter_format"] = "POSITIONAL"
			if placeholder.Match(t.Components) && !positional.Match(t.Components) {
				out["parameter_format"] = "NAMED"
			}
		}
	}
	return out
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// templateComponent is a component of a template as Meta describes it.
type templateComponent struct {
	Type    string `json:"type"`   // HEADER, BODY, FOOTER, BUTTONS
	Format  string `json:"format"` // of a header: TEXT, IMAGE, VIDEO, DOCUMENT, LOCATION
	Text    string `json:"text"`
	Buttons []struct {
		Type string `json:"type"` // QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE, OTP, FLOW…
		Text string `json:"text"`
		URL  string `json:"url"`
	} `json:"buttons"`
}

// createTemplate takes a template for review: PENDING now, the verdict
// after TemplateReview by webhook.
func (s *Simulator) createTemplate(w http.ResponseWriter, r *http.Request, waba string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSendBody))
	var t struct {
		Name       string          `json:"name"`
		Language   string          `json:"language"`
		Category   string          `json:"category"`
		Components json.RawMessage `json:"components"`
	}
	if err != nil || json.Unmarshal(body, &t) != nil {
		s.reject(errParam("The request body must be a JSON object with name, language, category and components")).write(w)
		return
	}
	if e := checkTemplate(t.Name, t.Language, t.Category, t.Components); e != nil {
		s.reject(e).write(w)
		return
	}
	s.mu.Lock()
	if s.findTemplate(waba, t.Name, t.Language) != nil {
		s.mu.Unlock()
		e := errParam("Content in this language already exists: template %s in %s", t.Name, t.Language)
		e.subcode = 2388024
		s.reject(e).write(w)
		return
	}
	st := s.addTemplate(waba, Template{Name: t.Name, Language: t.Language, Status: "PENDING",
		Category: strings.ToUpper(t.Category), Components: t.Components})
	s.stats.templatesCreated++
	reason, reject := s.opts.RejectTemplates[t.Name]
	s.sched.at(s.now().Add(s.opts.TemplateReview), func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.templates[st.ID] != st || st.Status != "PENDING" {
			return // deleted or decided meanwhile
		}
		if reject {
			s.setTemplateStatus(st, "REJECTED", cmpOr(reason, "INVALID_FORMAT"))
			return
		}
		s.setTemplateStatus(st, "APPROVED", "")
	})
	id, category := st.ID, st.Category
	s.mu.Unlock()
	writeJSON(w, map[string]string{"id": id, "status": "PENDING", "category": category})
}

// checkTemplate checks a new template as Meta does before review.
func checkTemplate(name, language, category string, components json.RawMessage) *simError {
	var c sendCheck
	if !templateName.MatchString(name) {
		c.fail("Param name must be 1 to 512 lower-case letters, digits and underscores")
	}
	if !templateLanguage.MatchString(language) {
		c.fail("Param language must be a language code such as en or en_US")
	}
	switch strings.ToUpper(category) {
	case "MARKETING", "UTILITY", "AUTHENTICATION":
	default:
		c.fail("Param category must be MARKETING, UTILITY or AUTHENTICATION")
	}
	var comps []templateComponent
	if err := json.Unmarshal(components, &comps); err != nil {
		c.fail("Param components must be an array of components")
		return c.err
	}
	bodies := 0
	for i, comp := range comps {
		p := fmt.Sprintf("components[%d]", i)
		switch strings.ToUpper(comp.Type) {
		case "BODY":
			bodies++
			if !strings.EqualFold(category, "AUTHENTICATION") {
				c.required(p+"['text']", comp.Text)
			}
			c.maxLen(p+"['text']", comp.Text, 1024)
		case "HEADER":
			if strings.EqualFold(comp.Format, "TEXT") {
				c.maxLen(p+"['text']", comp.Text, maxHeaderText)
			}
		case "FOOTER":
			c.maxLen(p+"['text']", comp.Text, maxFooterText)
		case "BUTTONS":
			c.count(p+"['buttons']", len(comp.Buttons), 1, 10)
		default:
			c.fail("Param %s['type'] must be HEADER, BODY, FOOTER or BUTTONS", p)
		}
	}
	if bodies != 1 {
		c.fail("Param components must have one BODY component")
	}
	return c.err
}

// deleteTemplate deletes waba's template ?name= in every language (or only
// the one ?hsm_id= names).
func (s *Simulator) deleteTemplate(w http.ResponseWriter, r *http.Request, waba string) {
	name, hsm := r.URL.Query().Get("name"), r.URL.Query().Get("hsm_id")
	if name == "" {
		s.reject(errParam("Param name is required")).write(w)
		return
	}
	s.mu.Lock()
	deleted := 0
	for id, t := range s.templates {
		if t.waba == waba && t.Name == name && (hsm == "" || hsm == id) {
			delete(s.templates, id)
			deleted++
		}
	}
	s.mu.Unlock()
	if deleted == 0 {
		e := errParam("Message template %q does not exist", name)
		e.subcode = 2593002
		s.reject(e).write(w)
		return
	}
	writeJSON(w, map[string]bool{"success": true})
}

// templateForSend checks a template message against waba's templates: the
// template exists in that language and is approved, and each component
// gets as many parameters as it has placeholders. s.mu held.
func (s *Simulator) templateForSend(waba string, req *sendTemplate) (*simTemplate, *simError) {
	t := s.findTemplate(waba, req.Name, req.Language.Code)
	switch {
	case t == nil:
		return nil, metaErr(CodeTemplateMissing, fmt.Sprintf("template name (%s) does not exist in %s", req.Name, req.Language.Code))
	case t.Status == "PAUSED":
		return nil, metaErr(CodeTemplatePaused, fmt.Sprintf("Template %s is paused because of low quality", req.Name))
	case t.Status == "DISABLED":
		return nil, metaErr(CodeTemplateDisabled, fmt.Sprintf("Template %s is disabled", req.Name))
	case t.Status != "APPROVED":
		return nil, metaErr(CodeTemplateMissing, fmt.Sprintf("template name (%s) in %s is %s, not approved", req.Name, req.Language.Code, t.Status))
	}
	var comps []templateComponent
	_ = json.Unmarshal(t.Components, &comps)
	sent := map[string]int{}
	for _, c := range req.Components {
		key := strings.ToLower(c.Type)
		if key == "button" {
			key += "[" + strconv.Itoa(int(c.Index)) + "]"
		}
		sent[key] += len(c.Parameters)
	}
	want := map[string]int{}
	for _, c := range comps {
		switch strings.ToUpper(c.Type) {
		case "HEADER":
			if f := strings.ToUpper(c.Format); f == "" || f == "TEXT" {
				want["header"] = placeholders(c.Text)
			} else {
				want["header"] = 1 // the image, video, document or location
			}
		case "BODY":
			want["body"] = placeholders(c.Text)
		case "BUTTONS":
			for i, b := range c.Buttons {
				switch strings.ToUpper(b.Type) {
				case "URL":
					want["button["+strconv.Itoa(i)+"]"] = placeholders(b.URL)
				case "COPY_CODE", "OTP":
					want["button["+strconv.Itoa(i)+"]"] = 1
				}
			}
		}
	}
	for _, key := range []string{"header", "body"} {
		if sent[key] != want[key] {
			return nil, metaErr(CodeTemplateParamCount, fmt.Sprintf("%s: number of localizable_params (%d) does not match the expected number of params (%d)", key, sent[key], want[key]))
		}
	}
	for key, n := range want {
		if strings.HasPrefix(key, "button") && sent[key] != n {
			return nil, metaErr(CodeTemplateParamCount, fmt.Sprintf("%s: number of localizable_params (%d) does not match the expected number of params (%d)", key, sent[key], n))
		}
	}
	return t, nil
}

// placeholders counts the distinct parameters of a template text.
func placeholders(text string) int {
	seen := map[string]bool{}
	for _, m := range placeholder.FindAllStringSubmatch(text, -1) {
		seen[m[1]] = true
	}
	return len(seen)
}
