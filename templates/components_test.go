package templates

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wam-project/wam/domain"
)

// TestCheckParams: a send fills the template's components with as many
// parameters as they have placeholders, of the types they take, named
// ones by name; a mismatch is an ErrInvalid naming the component.
func TestCheckParams(t *testing.T) {
	t.Parallel()
	const (
		positional = `[{"type":"BODY","text":"Hi {{1}}, your order {{2}} ships {{1}}."}]`
		named      = `[{"type":"BODY","text":"Hi {{first_name}}, order {{order}}."}]`
		textHeader = `[{"type":"HEADER","format":"TEXT","text":"Order {{1}}"},{"type":"BODY","text":"Thanks."}]`
		fixedHead  = `[{"type":"HEADER","format":"TEXT","text":"Hello"},{"type":"BODY","text":"Thanks."}]`
		image      = `[{"type":"HEADER","format":"IMAGE","example":{"header_handle":["x"]}},{"type":"BODY","text":"See."}]`
		location   = `[{"type":"HEADER","format":"LOCATION"},{"type":"BODY","text":"Here."}]`
		buttons    = `[{"type":"BODY","text":"Track it."},{"type":"BUTTONS","buttons":[
			{"type":"QUICK_REPLY","text":"Stop"},{"type":"URL","text":"Track","url":"https://x.example/t/{{1}}"},
			{"type":"URL","text":"Shop","url":"https://x.example/"},{"type":"PHONE_NUMBER","text":"Call","phone_number":"+15550000000"},
			{"type":"COPY_CODE","example":"SAVE10"}]}]`
		otp = `[{"type":"BODY","text":"{{1}} is your code."},{"type":"BUTTONS","buttons":[{"type":"OTP","otp_type":"COPY_CODE","text":"Copy"}]}]`
	)
	text := func(s string) string { return `{"type":"text","text":"` + s + `"}` }
	body := func(params ...string) string {
		return `{"type":"body","parameters":[` + strings.Join(params, ",") + `]}`
	}
	btn := func(sub string, index int, params ...string) string {
		b, _ := json.Marshal(index)
		return `{"type":"button","sub_type":"` + sub + `","index":` + string(b) + `,"parameters":[` + strings.Join(params, ",") + `]}`
	}
	copyCode := `{"type":"coupon_code","coupon_code":"SAVE10"}`
	for name, tc := range map[string]struct {
		template, components string // components: the send's, a JSON array
		want                 string // "": passes; else the start of the error's message
	}{
		"positional, filled":            {positional, `[` + body(text("Ann"), text("#1")) + `]`, ""},
		"positional, one short":         {positional, `[` + body(text("Ann")) + `]`, "template.components.0.parameters: the body takes 2 parameters, 1 given"},
		"positional, one more":          {positional, `[` + body(text("Ann"), text("#1"), text("x")) + `]`, "template.components.0.parameters: the body takes 2 parameters, 3 given"},
		"positional, left out":          {positional, `[]`, "template.components: the body takes 2 parameters, none given"},
		"positional, with names":        {positional, `[` + body(`{"type":"text","parameter_name":"a","text":"x"}`, text("y")) + `]`, "template.components.0.parameters.0.parameter_name: the body's parameters are positional"},
		"currency and date in the body": {positional, `[` + body(`{"type":"currency","currency":{"fallback_value":"$1","code":"USD","amount_1000":1000}}`, `{"type":"date_time","date_time":{"fallback_value":"today"}}`) + `]`, ""},
		"a payload in the body":         {positional, `[` + body(text("a"), `{"type":"coupon_code","coupon_code":"X"}`) + `]`, "template.components.0.parameters.1.type: the body's parameters are text, currency or date_time"},
		"named, filled":                 {named, `[` + body(`{"type":"text","parameter_name":"order","text":"#1"}`, `{"type":"text","parameter_name":"first_name","text":"Ann"}`) + `]`, ""},
		"named, without names": {named, `[` + body(text("Ann"), text("#1")) + `]`,
			"template.components.0.parameters.0.parameter_name: required: the body's parameters are named (first_name, order)"},
		"named, unknown name": {named, `[` + body(`{"type":"text","parameter_name":"first_name","text":"Ann"}`, `{"type":"text","parameter_name":"zip","text":"1"}`) + `]`,
			"template.components.0.parameters.1.parameter_name: the body has no parameter {{zip}}"},
		"named, twice": {named, `[` + body(`{"type":"text","parameter_name":"order","text":"1"}`, `{"type":"text","parameter_name":"order","text":"2"}`) + `]`,
			"template.components.0.parameters.1.parameter_name: {{order}} is given twice"},
		"text header, filled":          {textHeader, `[{"type":"header","parameters":[` + text("#1") + `]}]`, ""},
		"text header, left out":        {textHeader, `[]`, "template.components: the header takes 1 parameter, none given"},
		"text header, a currency":      {textHeader, `[{"type":"header","parameters":[{"type":"currency","currency":{"fallback_value":"$1","code":"USD","amount_1000":1}}]}]`, "template.components.0.parameters.0.type: the header's parameters are text"},
		"fixed header, left out":       {fixedHead, `[]`, ""},
		"fixed header, given a text":   {fixedHead, `[{"type":"header","parameters":[` + text("x") + `]}]`, "template.components.0.parameters: the header takes no parameters, 1 given"},
		"no header, given one":         {positional, `[{"type":"header","parameters":[` + text("x") + `]}]`, "template.components.0: the template has no header"},
		"image header, filled":         {image, `[{"type":"header","parameters":[{"type":"image","image":{"link":"https://x.example/a.jpg"}}]}]`, ""},
		"image header, left out":       {image, `[]`, "template.components: the header takes an image, none given"},
		"image header, given a video":  {image, `[{"type":"header","parameters":[{"type":"video","video":{"link":"https://x.example/a.mp4"}}]}]`, "template.components.0.parameters.0.type: the header is an image"},
		"image header, given two":      {image, `[{"type":"header","parameters":[{"type":"image","image":{"link":"https://x.example/a.jpg"}},{"type":"image","image":{"link":"https://x.example/b.jpg"}}]}]`, "template.components.0.parameters: the header takes an image, 2 given"},
		"location header":              {location, `[]`, "template.components: the header takes a location, which wam cannot send yet"},
		"buttons, the needed ones":     {buttons, `[` + btn("url", 1, text("abc")) + `,` + btn("copy_code", 4, copyCode) + `]`, ""},
		"buttons, with a quick reply":  {buttons, `[` + btn("quick_reply", 0, `{"type":"payload","payload":"stop"}`) + `,` + btn("url", 1, text("abc")) + `,` + btn("copy_code", 4, copyCode) + `]`, ""},
		"buttons, the URL left out":    {buttons, `[` + btn("copy_code", 4, copyCode) + `]`, "template.components: button 1 (URL) takes 1 parameter, none given"},
		"buttons, a URL without {{1}}": {buttons, `[` + btn("url", 1, text("abc")) + `,` + btn("url", 2, text("x")) + `,` + btn("copy_code", 4, copyCode) + `]`, "template.components.1.parameters: button 2 takes no parameters (its URL has no placeholder), 1 given"},
		"buttons, the wrong sub_type":  {buttons, `[` + btn("quick_reply", 1, `{"type":"payload","payload":"x"}`) + `]`, "template.components.0.sub_type: button 1 is a URL button: sub_type url"},
		"buttons, a phone number":      {buttons, `[` + btn("url", 3, text("x")) + `]`, "template.components.0: button 3 is a phone number button: it takes no parameters"},
		"buttons, beyond the last":     {buttons, `[` + btn("url", 7, text("x")) + `]`, "template.components.0.index: the template has 5 buttons"},
		"buttons, a quick reply's text": {buttons, `[` + btn("quick_reply", 0, text("stop")) + `]`,
			"template.components.0.parameters.0.type: button 0 (quick reply) takes a payload parameter"},
		"no buttons, given one":   {positional, `[` + body(text("a"), text("b")) + `,` + btn("url", 0, text("x")) + `]`, "template.components.1.index: the template has no buttons"},
		"one-time password":       {otp, `[` + body(text("123456")) + `,` + btn("url", 0, text("123456")) + `]`, ""},
		"one-time password, none": {otp, `[` + body(text("123456")) + `]`, "template.components: button 0 (one-time password) takes 1 parameter, none given"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sh, ok := parseShape([]byte(tc.template))
			if !ok {
				t.Fatalf("template %s does not parse", tc.template)
			}
			send := &domain.OutTemplate{Name: "t", Language: domain.OutTemplateLanguage{Code: "en_US"}}
			if err := json.Unmarshal([]byte(tc.components), &send.Components); err != nil {
				t.Fatal(err)
			}
			m := domain.Outbound{Type: domain.TypeTemplate, Template: send}
			if err := m.Validate(); err != nil {
				t.Fatalf("the send is invalid before any template is known: %v", err)
			}
			err := checkParams(send, sh)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && err == nil:
				t.Errorf("passed, want %q", tc.want)
			case tc.want != "" && (domain.ErrorCode(err) != domain.ErrInvalid || !strings.HasPrefix(domain.ErrorMessage(err), tc.want)):
				t.Errorf("got %s %q\nwant invalid %q", domain.ErrorCode(err), domain.ErrorMessage(err), tc.want)
			}
		})
	}
}

// TestParseShapeNotComponents: components that are not Meta's array leave
// nothing to check.
func TestParseShapeNotComponents(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{`{}`, `"x"`, `[1]`, ``} {
		if _, ok := parseShape([]byte(raw)); ok {
			t.Errorf("%q parsed", raw)
		}
	}
}
