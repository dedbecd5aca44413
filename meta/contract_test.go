package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"go.yaml.in/yaml/v3"
)

// metaOpenAPI is Meta's own OpenAPI 3.1 description of the Cloud API,
// v23.0, as published in facebook/openapi (MIT, see its LICENSE beside it).
// It is kept as it is; where its schemas are wrong, metaSchemaFixes
// corrects them in memory, each fix saying why.
const metaOpenAPI = "testdata/meta-openapi/business-messaging-api_v23.0.yaml"

// schemaFix is a correction of Meta's description: what is wrong and the
// change to the parsed document.
type schemaFix struct {
	why   string
	apply func(tb testing.TB, root *yaml.Node)
}

// metaSchemaFixes are the places where Meta's OpenAPI file contradicts the
// Cloud API as documented (and its own examples in the same file). The
// simulator follows the API, not these mistakes.
var metaSchemaFixes = []schemaFix{
	{"Every *Message schema is allOf [BaseMessageProperties, {additionalProperties: false, …}]. In JSON Schema " +
		"additionalProperties sees only its own object's properties, so messaging_product, to and every other base " +
		"property are refused and no message validates. The intent is unevaluatedProperties: false on the whole.",
		func(tb testing.TB, root *yaml.Node) {
			schemas := yamlAt(tb, root, "components", "schemas")
			for i := 1; i < len(schemas.Content); i += 2 {
				s := schemas.Content[i]
				allOf := yamlGet(s, "allOf")
				if allOf == nil || len(allOf.Content) == 0 || yamlGet(allOf.Content[0], "$ref") == nil ||
					yamlGet(allOf.Content[0], "$ref").Value != "#/components/schemas/BaseMessageProperties" {
					continue
				}
				for _, branch := range allOf.Content {
					if ap := yamlGet(branch, "additionalProperties"); ap != nil && ap.Value == "false" {
						yamlDel(branch, "additionalProperties")
						yamlSet(s, "unevaluatedProperties", yamlParse(tb, "false"))
					}
				}
			}
		}},
	{"BaseMessageProperties lacks biz_opaque_callback_data, which the messages reference documents as a property " +
		"of every message (echoed in its statuses); and it requires recipient_type, which the reference calls " +
		"optional (default individual) and which Meta's own examples here leave out (Send Contact Message).",
		func(tb testing.TB, root *yaml.Node) {
			base := yamlAt(tb, root, "components", "schemas", "BaseMessageProperties")
			yamlSet(yamlGet(base, "properties"), "biz_opaque_callback_data", yamlParse(tb, "{type: string, maxLength: 512}"))
			yamlRemoveValue(yamlGet(base, "required"), "recipient_type")
		}},
	{"LocationMessage types latitude and longitude as strings; the reference and the examples beside them give " +
		"numbers (and the API takes both).",
		func(tb testing.TB, root *yaml.Node) {
			props := yamlAt(tb, root, "components", "schemas", "LocationMessage", "allOf", "1", "properties", "location", "properties")
			for _, k := range []string{"latitude", "longitude"} {
				yamlSet(props, k, yamlParse(tb, "{type: [number, string]}"))
			}
		}},
	{"InteractiveObject and ActionObject leave out the cta_url and location_request_message interactive messages " +
		"(action {name: cta_url, parameters: {display_text, url}} and {name: send_location}), which the reference documents.",
		func(tb testing.TB, root *yaml.Node) {
			enum := yamlAt(tb, root, "components", "schemas", "InteractiveObject", "properties", "type", "enum")
			enum.Content = append(enum.Content, yamlParse(tb, "cta_url"), yamlParse(tb, "location_request_message"))
			oneOf := yamlAt(tb, root, "components", "schemas", "ActionObject", "oneOf")
			oneOf.Content = append(oneOf.Content,
				yamlParse(tb, `{required: [name, parameters], properties: {name: {enum: [cta_url]}, parameters: {type: object, required: [display_text, url], properties: {display_text: {type: string, maxLength: 20}, url: {type: string}}}}}`),
				yamlParse(tb, `{required: [name], properties: {name: {enum: [send_location]}}, not: {required: [parameters]}}`))
		}},
	{"LanguageObject requires policy, a deprecated member the reference no longer lists and that Meta's own template " +
		"examples here leave out; TemplateComponent.index has the pattern ^[2-6, 11-14]$, a character class that " +
		"refuses \"0\", its own example, and the reference takes the index as a number too.",
		func(tb testing.TB, root *yaml.Node) {
			yamlRemoveValue(yamlAt(tb, root, "components", "schemas", "LanguageObject", "required"), "policy")
			yamlSet(yamlAt(tb, root, "components", "schemas", "TemplateComponent", "properties"), "index",
				yamlParse(tb, "{type: [string, integer]}"))
		}},
	{"PhoneObject limits a shared contact's phone type to HOME and WORK; the reference lists CELL, MAIN, IPHONE, " +
		"HOME and WORK.",
		func(tb testing.TB, root *yaml.Node) {
			enum := yamlAt(tb, root, "components", "schemas", "PhoneObject", "properties", "type", "enum")
			enum.Content = append(enum.Content, yamlParse(tb, "CELL"), yamlParse(tb, "MAIN"), yamlParse(tb, "IPHONE"))
		}},
	{"The file is OpenAPI 3.1, but some schemas (those of GET /{WABA-ID}/phone_numbers among them) use OpenAPI " +
		"3.0's nullable, which 3.1 dropped; a 3.1 validator refuses to compile them. nullable: true becomes a null type.",
		func(tb testing.TB, root *yaml.Node) {
			var walk func(n *yaml.Node)
			walk = func(n *yaml.Node) {
				if nl := yamlGet(n, "nullable"); nl != nil {
					yamlDel(n, "nullable")
					if t := yamlGet(n, "type"); nl.Value == "true" && t != nil && t.Kind == yaml.ScalarNode {
						yamlSet(n, "type", yamlParse(tb, "["+t.Value+", \"null\"]"))
					}
				}
				for _, c := range n.Content {
					walk(c)
				}
			}
			walk(root)
		}},
	{"WhatsAppBusinessAccountPhoneNumber requires status, though GET /{WABA-ID}/phone_numbers has a fields " +
		"parameter and the Graph API answers the fields asked for (and id) only; wam asks for id, " +
		"display_phone_number and verified_name.",
		func(tb testing.TB, root *yaml.Node) {
			yamlRemoveValue(yamlAt(tb, root, "components", "schemas", "WhatsAppBusinessAccountPhoneNumber", "required"), "status")
		}},
	{"The webhook schemas were merged into the file under renamed components (BaseMessageProperties_1, " +
		"TextMessage_2, ImageMessage_1…) without renaming the references between them: IncomingMessage points at " +
		"the messages one sends (which need to and recipient_type) and the webhook messages at the base of sent " +
		"ones. And ContextObject requires referred_product, which only product enquiries carry, not replies.",
		func(tb testing.TB, root *yaml.Node) {
			schemas := yamlAt(tb, root, "components", "schemas")
			renamed := map[string]string{"TextMessage": "TextMessage_2", "ReactionMessage": "ReactionMessage_1",
				"AudioMessage": "AudioMessage_1", "DocumentMessage": "DocumentMessage_1", "ImageMessage": "ImageMessage_1",
				"StickerMessage": "StickerMessage_1", "VideoMessage": "VideoMessage_1", "LocationMessage": "LocationMessage_1"}
			incoming := yamlGet(schemas, "IncomingMessage")
			for _, n := range append(yamlGet(incoming, "oneOf").Content, yamlGet(yamlGet(incoming, "discriminator"), "mapping").Content...) {
				ref := n
				if n.Kind == yaml.MappingNode {
					ref = yamlGet(n, "$ref")
				}
				if ref == nil || ref.Kind != yaml.ScalarNode {
					continue
				}
				name := strings.TrimPrefix(ref.Value, "#/components/schemas/")
				if to, ok := renamed[name]; ok {
					ref.Value = "#/components/schemas/" + to
					name = to
				}
				if allOf := yamlGet(yamlGet(schemas, name), "allOf"); allOf != nil {
					yamlSet(allOf.Content[0], "$ref", yamlParse(tb, "'#/components/schemas/BaseMessageProperties_1'"))
				}
			}
			yamlRemoveValue(yamlAt(tb, root, "components", "schemas", "ContextObject", "required"), "referred_product")
		}},
	{"retrieveMediaUrl types file_size as a string; the Graph API answers a number (Meta's examples show a " +
		"placeholder). The client reads both.",
		func(tb testing.TB, root *yaml.Node) {
			props := yamlAt(tb, root, "paths", "/{Version}/{Media-ID}", "get", "responses", "200", "content", "application/json", "schema", "properties")
			yamlSet(props, "file_size", yamlParse(tb, "{type: [integer, string]}"))
		}},
}

// contract is Meta's description, corrected, ready to validate with.
type contract struct {
	model     *v3.Document
	validator schema_validation.SchemaValidator
	bearer    *regexp.Regexp
}

var (
	contractOnce sync.Once
	contractDoc  *contract
	contractErr  error
)

func loadContract(tb testing.TB) *contract {
	tb.Helper()
	contractOnce.Do(func() {
		raw, err := os.ReadFile(metaOpenAPI)
		if err != nil {
			contractErr = err
			return
		}
		var root yaml.Node
		if contractErr = yaml.Unmarshal(raw, &root); contractErr != nil {
			return
		}
		for _, f := range metaSchemaFixes {
			f.apply(tb, root.Content[0])
		}
		fixed, err := yaml.Marshal(&root)
		if err != nil {
			contractErr = err
			return
		}
		doc, err := libopenapi.NewDocument(fixed)
		if err != nil {
			contractErr = err
			return
		}
		if v := doc.GetVersion(); !strings.HasPrefix(v, "3.1") {
			tb.Logf("Meta's description is OpenAPI %s", v)
		}
		m, err := doc.BuildV3Model()
		if err != nil {
			contractErr = err
			return
		}
		auth := m.Model.Components.Parameters.GetOrZero("Authorization").Schema.Schema()
		contractDoc = &contract{model: &m.Model, validator: schema_validation.NewSchemaValidator(), bearer: regexp.MustCompile(auth.Pattern)}
	})
	if contractErr != nil {
		tb.Fatalf("load %s: %v", metaOpenAPI, contractErr)
	}
	return contractDoc
}

func (c *contract) operation(tb testing.TB, path, method string) *v3.Operation {
	tb.Helper()
	item := c.model.Paths.PathItems.GetOrZero(path)
	if item == nil {
		tb.Fatalf("Meta's description has no path %s", path)
	}
	op := map[string]*v3.Operation{"GET": item.Get, "POST": item.Post, "DELETE": item.Delete}[method]
	if op == nil {
		tb.Fatalf("Meta's description has no %s %s", method, path)
	}
	return op
}

func (c *contract) componentSchema(name string) *base.Schema {
	return c.model.Components.Schemas.GetOrZero(name).Schema()
}

// validate checks payload against schema and reports each failure.
func (c *contract) validate(tb testing.TB, what string, schema *base.Schema, payload []byte) {
	tb.Helper()
	ok, errs := c.validator.ValidateSchemaBytes(schema, payload)
	if ok {
		return
	}
	var reasons []string
	for _, e := range errs {
		for _, f := range e.SchemaValidationErrors {
			reasons = append(reasons, f.FieldPath+" "+f.KeywordLocation+": "+f.Reason)
		}
		if len(e.SchemaValidationErrors) == 0 {
			reasons = append(reasons, e.Message+": "+e.Reason)
		}
	}
	tb.Errorf("%s does not match Meta's schema:\n  %s\n%s", what, strings.Join(reasons, "\n  "), payload)
}

// checkingTransport holds every request the client sends, and every answer
// the simulator gives, to Meta's description.
type checkingTransport struct {
	tb       testing.TB
	c        *contract
	requests bool // also check request bodies (off while sending invalid ones on purpose)
	mu       sync.Mutex
	seen     map[string]bool // operations checked, by "METHOD path status"
}

func (t *checkingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	respBody, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	t.check(req, reqBody, resp, respBody)
	return resp, nil
}

func (t *checkingTransport) check(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	tb, c := t.tb, t.c
	tb.Helper()
	if a := req.Header.Get("Authorization"); !c.bearer.MatchString(a) {
		tb.Errorf("%s %s: Authorization %q does not match Meta's pattern", req.Method, req.URL.Path, strings.SplitN(a, " ", 2)[0])
	}
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	if parts[0] == mediaDownloadPath[:strings.Index(mediaDownloadPath, "/")] {
		t.seenOp("GET /{Version}/{Media-URL}", resp.StatusCode) // the file itself: Meta describes no schema
		return
	}
	var path string
	switch {
	case len(parts) == 2 && req.URL.Query().Has("fields"):
		path = "/{Version}/{Phone-Number-ID}"
	case len(parts) == 2:
		path = "/{Version}/{Media-ID}"
	case parts[2] == "phone_numbers":
		path = "/{Version}/{WABA-ID}/phone_numbers"
	case parts[2] == "message_templates":
		path = "/{Version}/{WABA-ID}/message_templates"
	default:
		path = "/{Version}/{Phone-Number-ID}/" + parts[2]
	}
	op := c.operation(tb, path, req.Method)
	what := req.Method + " " + path
	t.seenOp(what, resp.StatusCode)
	reqSchema, respSchema := c.bodySchemas(op, req.Header.Get("Content-Type"), resp.StatusCode)
	if path == "/{Version}/{Phone-Number-ID}/messages" && bytes.Contains(reqBody, []byte(`"status":"read"`)) {
		// Meta's sendMessage takes Message only, though its own example
		// "Send typing indicator and read receipt" is a read receipt:
		// those are MarkMessageRequestPayload, answered by
		// MarkMessageResponsePayload (both defined, neither referenced).
		reqSchema = c.componentSchema("MarkMessageRequestPayload")
		if resp.StatusCode == http.StatusOK {
			respSchema = c.componentSchema("MarkMessageResponsePayload")
		}
	}
	if t.requests && len(reqBody) > 0 {
		payload := reqBody
		if ct, params, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); ct == "multipart/form-data" {
			payload = multipartAsJSON(tb, reqBody, params["boundary"])
		}
		if reqSchema == nil {
			tb.Errorf("%s: Meta describes no body of type %s", what, req.Header.Get("Content-Type"))
		} else {
			c.validate(tb, "request of "+what, reqSchema, payload)
		}
	}
	if respSchema == nil {
		tb.Errorf("%s: Meta describes no answer %d", what, resp.StatusCode)
		return
	}
	c.validate(tb, "answer "+resp.Status+" of "+what, respSchema, respBody)
}

// bodySchemas are the schemas of op's request body of contentType and of
// its answer with status. Meta describes errors for a few operations only;
// for the others an error is the Graph API's error (GraphAPIError).
func (c *contract) bodySchemas(op *v3.Operation, contentType string, status int) (req, resp *base.Schema) {
	if op.RequestBody != nil {
		ct, _, _ := mime.ParseMediaType(contentType)
		if mt := op.RequestBody.Content.GetOrZero(ct); mt != nil && mt.Schema != nil {
			req = mt.Schema.Schema()
		}
	}
	if r := op.Responses.Codes.GetOrZero(strconv.Itoa(status)); r != nil {
		if mt := r.Content.GetOrZero("application/json"); mt != nil && mt.Schema != nil {
			return req, mt.Schema.Schema()
		}
	}
	if status >= 400 {
		return req, c.componentSchema("GraphAPIError")
	}
	return req, nil
}

// multipartAsJSON is a multipart form as the JSON object its OpenAPI
// schema describes, files as their content.
func multipartAsJSON(tb testing.TB, body []byte, boundary string) []byte {
	tb.Helper()
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	obj := map[string]string{}
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatalf("the upload is not a multipart form: %v", err)
		}
		b, _ := io.ReadAll(p)
		obj[p.FormName()] = string(b)
	}
	out, _ := json.Marshal(obj)
	return out
}

func (t *checkingTransport) seenOp(what string, status int) {
	t.mu.Lock()
	t.seen[what+" "+strconv.Itoa(status)] = true
	t.mu.Unlock()
}

// TestContractWithMetaOpenAPI drives the client against the simulator
// through every endpoint wam uses, with answers and errors, and holds each
// request and answer to Meta's OpenAPI description.
func TestContractWithMetaOpenAPI(t *testing.T) {
	t.Parallel()
	c := loadContract(t)
	e := newSimEnv(t, SimOptions{PairInterval: -1, Throughput: 40})
	check := &checkingTransport{tb: t, c: c, requests: true, seen: map[string]bool{}}
	e.client.http.Transport = check
	ctx := context.Background()
	e.openWindow(t, testCustomer)
	e.sim.AddTemplate(testWABA, Template{Name: "order_update", Language: "en_US", Category: "UTILITY",
		Components: json.RawMessage(`[{"type":"BODY","text":"Order {{1}} ships today."},{"type":"BUTTONS","buttons":[{"type":"URL","text":"Track","url":"https://acme.example/{{1}}"}]}]`)})

	// Successes, with bodies as wam sends them.
	if _, err := e.client.PhoneNumber(ctx, testNumber, testToken); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.WABAPhoneNumbers(ctx, testWABA, testToken); err != nil {
		t.Fatal(err)
	}
	id, err := e.client.UploadMedia(ctx, testNumber, testToken, "image/jpeg", "photo.jpg", bytes.NewReader(customerPhoto(e.sim.rng)))
	if err != nil {
		t.Fatal(err)
	}
	msgs := validMessages(id)
	msgs["list"] = msg("interactive", interactive("list", map[string]any{"button": "Options", "sections": []any{map[string]any{"title": "All", "rows": rows(3)}}}))
	msgs["template"] = map[string]any{"messaging_product": "whatsapp", "recipient_type": "individual", "to": testCustomer, "type": "template",
		"template": map[string]any{"name": "order_update", "language": map[string]any{"code": "en_US"}, "components": []any{
			map[string]any{"type": "body", "parameters": []any{map[string]any{"type": "text", "text": "42"}}},
			map[string]any{"type": "button", "sub_type": "url", "index": "0", "parameters": []any{map[string]any{"type": "text", "text": "42"}}}}}}
	msgs["text without recipient_type"] = textTo(testCustomer)
	for _, name := range slices.Sorted(maps.Keys(msgs)) {
		if _, err := e.send(t, msgs[name]); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	wamid := e.openWindow(t, testCustomer)
	if err := e.client.MarkRead(ctx, testNumber, testToken, wamid, true); err != nil {
		t.Fatal(err)
	}
	info, err := e.client.Media(ctx, id, testToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DownloadMedia(ctx, info.URL, testToken, io.Discard, 1<<20); err != nil {
		t.Fatal(err)
	}
	if err := e.client.DeleteMedia(ctx, id, testToken); err != nil {
		t.Fatal(err)
	}
	comps := json.RawMessage(`[{"type":"HEADER","format":"TEXT","text":"Fall Sale"},{"type":"BODY","text":"Hi {{1}}!","example":{"body_text":[["Mark"]]}},{"type":"FOOTER","text":"Tap Stop to opt out"},{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Stop promotions"}]}]`)
	if _, _, _, err := e.client.CreateTemplate(ctx, testWABA, testToken, TemplateCreate{Name: "fall_sale", Language: "en_US", Category: "MARKETING", Components: comps}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Templates(ctx, testWABA, testToken); err != nil {
		t.Fatal(err)
	}
	if err := e.client.DeleteTemplate(ctx, testWABA, testToken, "fall_sale"); err != nil {
		t.Fatal(err)
	}

	// Errors: the answers must still be Meta's. The requests are wrong on
	// purpose, so only the answers are checked.
	check.requests = false
	for _, m := range []map[string]any{
		msg("text", map[string]any{"body": repeat(5000)}),
		msgs["template"], // now with too few parameters, below
		{"messaging_product": "whatsapp", "to": testCustomer, "type": "template", "template": map[string]any{"name": "nope", "language": map[string]any{"code": "en_US"}}},
	} {
		if m["type"] == "template" && m["template"].(map[string]any)["name"] == "order_update" {
			m = map[string]any{"messaging_product": "whatsapp", "to": testCustomer, "type": "template", "template": map[string]any{"name": "order_update", "language": map[string]any{"code": "en_US"}}}
		}
		if _, err := e.send(t, m); err == nil {
			t.Errorf("%v was accepted", m)
		}
	}
	for range 41 { // past the throughput of 40/s: 130429
		_, _ = e.send(t, textTo(testCustomer))
	}
	body, _ := json.Marshal(textTo(testCustomer))
	_, _ = e.client.SendMessage(ctx, testNumber, "EAAG-not-a-token", body)
	_, _ = e.client.Media(ctx, "404404", testToken)
	_, _ = e.client.UploadMedia(ctx, testNumber, testToken, "application/x-msdownload", "a.exe", strings.NewReader("MZ"))
	_ = e.client.DeleteTemplate(ctx, testWABA, testToken, "never_made")
	_, _ = e.client.WABAPhoneNumbers(ctx, "no-such-waba", testToken)
	_, _ = e.client.PhoneNumber(ctx, testNumber, "EAAG-not-a-token")
	e.sim.SetFaults(Faults{BurstEvery: 1, BurstLength: 1 << 62})
	_, _ = e.send(t, textTo(testCustomer))

	for _, want := range []string{
		"GET /{Version}/{Phone-Number-ID} 200", "GET /{Version}/{Phone-Number-ID} 401", "GET /{Version}/{WABA-ID}/phone_numbers 200",
		"GET /{Version}/{WABA-ID}/phone_numbers 400", "POST /{Version}/{Phone-Number-ID}/media 200", "POST /{Version}/{Phone-Number-ID}/media 400",
		"POST /{Version}/{Phone-Number-ID}/messages 200", "POST /{Version}/{Phone-Number-ID}/messages 400", "POST /{Version}/{Phone-Number-ID}/messages 401",
		"POST /{Version}/{Phone-Number-ID}/messages 404", "POST /{Version}/{Phone-Number-ID}/messages 503",
		"GET /{Version}/{Media-ID} 200", "GET /{Version}/{Media-ID} 400", "GET /{Version}/{Media-URL} 200", "DELETE /{Version}/{Media-ID} 200",
		"GET /{Version}/{WABA-ID}/message_templates 200", "POST /{Version}/{WABA-ID}/message_templates 200",
		"DELETE /{Version}/{WABA-ID}/message_templates 200", "DELETE /{Version}/{WABA-ID}/message_templates 400",
	} {
		if !check.seen[want] {
			t.Errorf("the contract test never saw %s", want)
		}
	}
}

// yamlGet is the value of key in mapping m, or nil.
func yamlGet(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// yamlAt walks mapping keys and sequence indexes from n.
func yamlAt(tb testing.TB, n *yaml.Node, path ...string) *yaml.Node {
	tb.Helper()
	for _, p := range path {
		var next *yaml.Node
		if n.Kind == yaml.SequenceNode {
			if i, err := strconv.Atoi(p); err == nil && i < len(n.Content) {
				next = n.Content[i]
			}
		} else {
			next = yamlGet(n, p)
		}
		if next == nil {
			tb.Fatalf("Meta's description has no %s (at %s)", strings.Join(path, "."), p)
		}
		n = next
	}
	return n
}

func yamlSet(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
}

func yamlDel(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}

func yamlRemoveValue(seq *yaml.Node, v string) {
	seq.Content = slices.DeleteFunc(seq.Content, func(n *yaml.Node) bool { return n.Value == v })
}

func yamlParse(tb testing.TB, src string) *yaml.Node {
	tb.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		tb.Fatalf("fix %q: %v", src, err)
	}
	return n.Content[0]
}

// TestContractWebhooks holds the simulator's "messages" webhooks, statuses
// and every kind of customer message, to Meta's WebhookPayload. Template
// status updates are not described there (Change.field lists no
// message_template_status_update); TestSimTemplateLifecycle checks them.
func TestContractWebhooks(t *testing.T) {
	t.Parallel()
	c := loadContract(t)
	e := newSimEnv(t, SimOptions{FailShare: 0})
	ctx := context.Background()
	e.openWindow(t, testCustomer)
	ok, err := e.send(t, msg("interactive", interactive("button", map[string]any{"buttons": buttons(2)})))
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{CustomerButtonReply, CustomerReaction, CustomerReply, CustomerImage, CustomerVoice, CustomerLocation} {
		if _, err := e.sim.CustomerSends(ctx, testNumber, testCustomer, "", kind); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.send(t, msg("interactive", interactive("list", map[string]any{"button": "b", "sections": []any{map[string]any{"rows": rows(2)}}}))); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sim.CustomerSends(ctx, testNumber, testCustomer, "", CustomerListReply); err != nil {
		t.Fatal(err)
	}
	failed, err := e.send(t, textTo("447700900123")) // outside the window: fails by webhook
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every webhook", func() bool {
		return len(e.hooks.statuses(ok.MessageID)) == 3 && len(e.hooks.statuses(failed.MessageID)) == 1 && e.sim.Stats().Webhooks.Pending == 0 &&
			e.sim.Stats().Scheduled == 0
	})
	e.hooks.mu.Lock()
	defer e.hooks.mu.Unlock()
	// Statuses due together may come in one webhook, as Meta batches them.
	updates := 0
	for _, b := range e.hooks.bodies {
		var w struct {
			Entry []struct {
				Changes []struct {
					Value struct {
						Messages, Statuses []json.RawMessage
					}
				}
			}
		}
		if err := json.Unmarshal(b, &w); err != nil {
			t.Fatal(err)
		}
		for _, en := range w.Entry {
			for _, ch := range en.Changes {
				updates += len(ch.Value.Messages) + len(ch.Value.Statuses)
			}
		}
	}
	if updates < 15 {
		t.Errorf("only %d messages and statuses in %d webhooks", updates, len(e.hooks.bodies))
	}
	for _, b := range e.hooks.bodies {
		c.validate(t, "webhook", c.componentSchema("WebhookPayload"), b)
	}
}

// TestContractCatchesMistakes makes sure the contract test can fail: the
// validator refuses what Meta's schemas refuse.
func TestContractCatchesMistakes(t *testing.T) {
	t.Parallel()
	c := loadContract(t)
	for _, tc := range []struct{ schema, payload string }{
		{"MessageResponsePayload", `{"messages":[{"id":5}]}`},
		{"MessageResponsePayload", `{"messages":[{"id":"wamid.x","message_status":"delivered"}]}`},
		{"GraphAPIError", `{"error":{"message":"x","type":"OAuthException"}}`},
		{"Message", `{"messaging_product":"whatsapp","to":"1","type":"text"}`},
		{"Message", `{"messaging_product":"whatsapp","to":"1","type":"text","text":{"body":"x"},"surprise":1}`},
		{"WebhookPayload", `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"1","phone_number_id":"2"},"statuses":[{"id":"w","status":"gone","timestamp":"1","recipient_id":"3"}]}}]}]}`},
	} {
		if ok, _ := c.validator.ValidateSchemaBytes(c.componentSchema(tc.schema), []byte(tc.payload)); ok {
			t.Errorf("%s takes %s", tc.schema, tc.payload)
		}
	}
}
