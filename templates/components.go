package templates

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/wam-project/wam/domain"
)

// component is a component of a template as Meta lists it:
// [{"type":"HEADER","format":"TEXT","text":"Hi {{1}}"},{"type":"BODY","text":…},
// {"type":"FOOTER","text":…},{"type":"BUTTONS","buttons":[{"type":"URL","url":"https://…/{{1}}"}…]}].
type component struct {
	Type    string   `json:"type"`   // HEADER, BODY, FOOTER, BUTTONS
	Format  string   `json:"format"` // of a header: TEXT, IMAGE, VIDEO, DOCUMENT, LOCATION
	Text    string   `json:"text"`
	Buttons []button `json:"buttons"`
}

type button struct {
	Type string `json:"type"` // QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE, OTP, FLOW, CATALOG…
	Text string `json:"text"`
	URL  string `json:"url"`
}

// placeholder is a parameter of a template's text: positional ({{1}}) or
// named ({{first_name}}).
var placeholder = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_]+)\s*\}\}`)

// slot is what one component of a template takes: a text's parameters,
// or one media object.
type slot struct {
	kind   string   // text; or image, video, document, location for a media header
	params []string // the placeholders, in order of first appearance
	named  bool     // the placeholders are names, not numbers
}

// textSlot is the slot of a text with placeholders.
func textSlot(text string) slot {
	s := slot{kind: "text"}
	seen := map[string]bool{}
	for _, m := range placeholder.FindAllStringSubmatch(text, -1) {
		if name := m[1]; !seen[name] {
			seen[name] = true
			s.params = append(s.params, name)
			if strings.Trim(name, "0123456789") != "" {
				s.named = true
			}
		}
	}
	return s
}

// buttonSlot is what a button at a send takes.
type buttonSlot struct {
	typ      string // Meta's type, for messages
	subType  string // the sub_type a send names it by; "" takes no component
	params   int    // how many parameters
	kind     string // their type
	required bool   // a send must fill it
	free     bool   // not checked: a kind of button whose parameters wam does not know
}

func buttonSlotOf(b button) buttonSlot {
	switch t := strings.ToUpper(b.Type); t {
	case "QUICK_REPLY":
		return buttonSlot{typ: "quick reply", subType: "quick_reply", params: 1, kind: "payload"}
	case "URL":
		n := len(textSlot(b.URL).params)
		return buttonSlot{typ: "URL", subType: "url", params: n, kind: "text", required: n > 0}
	case "OTP": // authentication: the code goes as the text of a url button
		return buttonSlot{typ: "one-time password", subType: "url", params: 1, kind: "text", required: true}
	case "COPY_CODE":
		return buttonSlot{typ: "copy code", subType: "copy_code", params: 1, kind: "coupon_code", required: true}
	case "PHONE_NUMBER", "VOICE_CALL":
		return buttonSlot{typ: strings.ToLower(strings.ReplaceAll(t, "_", " "))}
	}
	return buttonSlot{typ: strings.ToLower(b.Type), free: true}
}

// shape is what a template asks of a send, component by component.
type shape struct {
	header  *slot // nil: the template has no header
	body    slot
	buttons []buttonSlot // by index
}

// parseShape reads Meta's components; ok is false when they are not what
// Meta lists (then nothing can be checked).
func parseShape(raw []byte) (sh shape, ok bool) {
	var comps []component
	if err := json.Unmarshal(raw, &comps); err != nil {
		return sh, false
	}
	for _, c := range comps {
		switch strings.ToUpper(c.Type) {
		case "HEADER":
			h := slot{kind: strings.ToLower(c.Format), params: []string{""}}
			if f := strings.ToUpper(c.Format); f == "" || f == "TEXT" {
				h = textSlot(c.Text)
			}
			sh.header = &h
		case "BODY":
			sh.body = textSlot(c.Text)
		case "BUTTONS":
			for _, b := range c.Buttons {
				sh.buttons = append(sh.buttons, buttonSlotOf(b))
			}
		}
	}
	return sh, true
}

// checkParams checks that a send of t fills the template of shape sh:
// each component it names exists, with as many parameters as the template
// has placeholders, of the right types (named ones by their names), and no
// component that needs parameters is left out. The error is an ErrInvalid
// naming the field as the request body names it.
func checkParams(t *domain.OutTemplate, sh shape) error {
	given := map[string]bool{}
	for i, c := range t.Components {
		p := fmt.Sprintf("template.components.%d", i)
		switch c.Type {
		case "header":
			given["header"] = true
			if sh.header == nil {
				return invalid(p, "the template has no header")
			}
			if err := checkSlot(p, "header", *sh.header, c.Parameters); err != nil {
				return err
			}
		case "body":
			given["body"] = true
			if err := checkSlot(p, "body", sh.body, c.Parameters); err != nil {
				return err
			}
		case "button":
			if c.Index == nil {
				continue // refused by Validate
			}
			k := *c.Index
			given[fmt.Sprint("button ", k)] = true
			if k >= len(sh.buttons) {
				return invalid(p+".index", "the template has %s", count(len(sh.buttons), "button"))
			}
			if err := checkButton(p, k, sh.buttons[k], c); err != nil {
				return err
			}
		}
	}
	const all = "template.components"
	if h := sh.header; h != nil && !given["header"] {
		switch {
		case h.kind == "location":
			return invalid(all, "the header takes a location, which wam cannot send yet")
		case h.kind != "text":
			return invalid(all, "the header takes %s %s, none given", article(h.kind), h.kind)
		case len(h.params) > 0:
			return invalid(all, "the header takes %s, none given", count(len(h.params), "parameter"))
		}
	}
	if n := len(sh.body.params); n > 0 && !given["body"] {
		return invalid(all, "the body takes %s, none given", count(n, "parameter"))
	}
	for k, b := range sh.buttons {
		if b.required && !given[fmt.Sprint("button ", k)] {
			return invalid(all, "button %d (%s) takes %s, none given", k, b.typ, count(b.params, "parameter"))
		}
	}
	return nil
}

// checkSlot checks the parameters of a header or body.
func checkSlot(p, what string, s slot, params []domain.OutParameter) error {
	if s.kind == "location" {
		return invalid(p, "the %s is a location, which wam cannot send yet", what)
	}
	if s.kind != "text" { // a media header
		if len(params) != 1 {
			return invalid(p+".parameters", "the %s takes %s %s, %d given", what, article(s.kind), s.kind, len(params))
		}
		if params[0].Type != s.kind {
			return invalid(p+".parameters.0.type", "the %s is %s %s", what, article(s.kind), s.kind)
		}
		return nil
	}
	if len(params) != len(s.params) {
		return invalid(p+".parameters", "the %s takes %s, %d given", what, count(len(s.params), "parameter"), len(params))
	}
	names := map[string]bool{}
	for j, prm := range params {
		q := fmt.Sprintf("%s.parameters.%d", p, j)
		switch {
		case prm.Type != "text" && what == "header":
			return invalid(q+".type", "the header's parameters are text")
		case prm.Type != "text" && prm.Type != "currency" && prm.Type != "date_time":
			return invalid(q+".type", "the %s's parameters are text, currency or date_time", what)
		}
		switch {
		case !s.named && prm.ParameterName != "":
			return invalid(q+".parameter_name", "the %s's parameters are positional ({{1}}, {{2}}…): give them in order, without names", what)
		case !s.named:
		case prm.ParameterName == "":
			return invalid(q+".parameter_name", "required: the %s's parameters are named (%s)", what, strings.Join(s.params, ", "))
		case !slices.Contains(s.params, prm.ParameterName):
			return invalid(q+".parameter_name", "the %s has no parameter {{%s}} (it has %s)", what, prm.ParameterName, strings.Join(s.params, ", "))
		case names[prm.ParameterName]:
			return invalid(q+".parameter_name", "{{%s}} is given twice", prm.ParameterName)
		}
		names[prm.ParameterName] = true
	}
	return nil
}

// checkButton checks a button component against button k of the template.
func checkButton(p string, k int, b buttonSlot, c domain.OutComponent) error {
	switch {
	case b.free:
		return nil
	case b.subType == "":
		return invalid(p, "button %d is a %s button: it takes no parameters", k, b.typ)
	case c.SubType != b.subType:
		return invalid(p+".sub_type", "button %d is a %s button: sub_type %s", k, b.typ, b.subType)
	case len(c.Parameters) != b.params && b.params == 0:
		return invalid(p+".parameters", "button %d takes no parameters (its URL has no placeholder), %d given", k, len(c.Parameters))
	case len(c.Parameters) != b.params:
		return invalid(p+".parameters", "button %d (%s) takes %s, %d given", k, b.typ, count(b.params, "parameter"), len(c.Parameters))
	}
	for j, prm := range c.Parameters {
		if prm.Type != b.kind {
			return invalid(fmt.Sprintf("%s.parameters.%d.type", p, j), "button %d (%s) takes a %s parameter", k, b.typ, b.kind)
		}
	}
	return nil
}

func invalid(field, format string, args ...any) error {
	return domain.Errorf(domain.ErrInvalid, "%s: %s", field, fmt.Sprintf(format, args...))
}

// count is "no parameters", "1 parameter", "2 parameters".
func count(n int, noun string) string {
	switch n {
	case 0:
		return "no " + noun + "s"
	case 1:
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}
