package meta

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

const testCustomer = "16505551234"

// msg is a message object to testCustomer of type typ with its object.
func msg(typ string, obj any) map[string]any {
	return map[string]any{"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+" + testCustomer, "type": typ, typ: obj}
}

func repeat(n int) string { return strings.Repeat("x", n) }

func buttons(n int) []any {
	var out []any
	for i := range n {
		out = append(out, map[string]any{"type": "reply", "reply": map[string]any{"id": fmt.Sprint("b", i), "title": fmt.Sprint("Button ", i)}})
	}
	return out
}

func rows(n int) []any {
	var out []any
	for i := range n {
		out = append(out, map[string]any{"id": fmt.Sprint("r", i), "title": fmt.Sprint("Row ", i), "description": "a row"})
	}
	return out
}

func interactive(typ string, action any) map[string]any {
	return map[string]any{"type": typ, "body": map[string]any{"text": "Pick one"}, "action": action}
}

// validMessages are messages of every type the simulator takes.
func validMessages(mediaID string) map[string]map[string]any {
	return map[string]map[string]any{
		"text":             msg("text", map[string]any{"body": "Hello 👋", "preview_url": true}),
		"image by id":      msg("image", map[string]any{"id": mediaID, "caption": "the photo"}),
		"image by link":    msg("image", map[string]any{"link": "https://example.com/a.jpg"}),
		"audio by link":    msg("audio", map[string]any{"link": "https://example.com/a.ogg"}),
		"video by link":    msg("video", map[string]any{"link": "https://example.com/a.mp4", "caption": "see"}),
		"document by link": msg("document", map[string]any{"link": "https://example.com/a.pdf", "filename": "a.pdf"}),
		"sticker by link":  msg("sticker", map[string]any{"link": "https://example.com/a.webp"}),
		"location":         msg("location", map[string]any{"latitude": 37.48, "longitude": -122.14, "name": "Meta HQ", "address": "1 Hacker Way"}),
		"contacts":         msg("contacts", []any{map[string]any{"name": map[string]any{"formatted_name": "Ana Souza", "first_name": "Ana"}, "phones": []any{map[string]any{"phone": "+5511999999999", "type": "CELL"}}}}),
		"reply buttons": msg("interactive", map[string]any{"type": "button", "header": map[string]any{"type": "text", "text": "Order 42"},
			"body": map[string]any{"text": "Confirm?"}, "footer": map[string]any{"text": "Acme"}, "action": map[string]any{"buttons": buttons(3)}}),
		"list": msg("interactive", interactive("list", map[string]any{"button": "Options", "sections": []any{
			map[string]any{"title": "First", "rows": rows(5)}, map[string]any{"title": "Second", "rows": rows(5)[:0:0]}}})),
		"cta_url":          msg("interactive", interactive("cta_url", map[string]any{"name": "cta_url", "parameters": map[string]any{"display_text": "Open", "url": "https://example.com"}})),
		"location request": msg("interactive", interactive("location_request_message", map[string]any{"name": "send_location"})),
		"reaction":         msg("reaction", map[string]any{"message_id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0RTJEOTc2ODVERUY5RDlGNkYA", "emoji": "👍"}),
		"reply with context": func() map[string]any {
			m := msg("text", map[string]any{"body": "as I said"})
			m["context"] = map[string]any{"message_id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="}
			m["biz_opaque_callback_data"] = "wam-message-1"
			return m
		}(),
	}
}

func TestSimAcceptsEveryMessageType(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, SimOptions{})
	e.openWindow(t, testCustomer)
	id, err := e.client.UploadMedia(context.Background(), testNumber, testToken, "image/jpeg", "a.jpg", strings.NewReader("jpeg bytes"))
	if err != nil {
		t.Fatal(err)
	}
	msgs := validMessages(id)
	// The list's second section must have rows of its own.
	msgs["list"] = msg("interactive", interactive("list", map[string]any{"button": "Options", "sections": []any{
		map[string]any{"title": "First", "rows": rows(5)},
		map[string]any{"title": "Second", "rows": []any{map[string]any{"id": "z", "title": "Last"}}}}}))
	for name, m := range msgs {
		t.Run(name, func(t *testing.T) {
			r, err := e.send(t, m)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(r.MessageID, "wamid.") || r.WaID != testCustomer || r.Input != "+"+testCustomer || r.MessageStatus != "" {
				t.Errorf("answer %+v", r)
			}
		})
	}
	if st := e.sim.Stats(); st.Accepted != len(msgs) || st.ByCallback["wam-message-1"] != 1 {
		t.Errorf("stats: %d accepted (want %d), by callback %v", st.Accepted, len(msgs), st.ByCallback)
	}
}

func TestSimRefusesInvalidMessages(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, SimOptions{})
	e.openWindow(t, testCustomer)
	with := func(m map[string]any, k string, v any) map[string]any { m[k] = v; return m }
	for _, tc := range []struct {
		name    string
		msg     map[string]any
		details string // part of error_data.details
	}{
		{"no messaging_product", with(msg("text", map[string]any{"body": "x"}), "messaging_product", ""), "messaging_product"},
		{"group recipient", with(msg("text", map[string]any{"body": "x"}), "recipient_type", "group"), "recipient_type"},
		{"bad to", with(msg("text", map[string]any{"body": "x"}), "to", "not-a-number"), "Param to"},
		{"short to", with(msg("text", map[string]any{"body": "x"}), "to", "12345"), "Param to"},
		{"unknown type", msg("carousel", map[string]any{}), "Param type"},
		{"text missing", with(msg("text", nil), "text", nil), "Param text is required"},
		{"empty text", msg("text", map[string]any{"body": ""}), "text['body'] is required"},
		{"text too long", msg("text", map[string]any{"body": repeat(4097)}), "text['body'] must be at most 4096"},
		{"text body not a string", msg("text", map[string]any{"body": 5}), "Param text.body must be a string"},
		{"callback too long", with(msg("text", map[string]any{"body": "x"}), "biz_opaque_callback_data", repeat(513)), "biz_opaque_callback_data"},
		{"media without id or link", msg("image", map[string]any{"caption": "x"}), "id or a link"},
		{"media with both", msg("image", map[string]any{"id": "1", "link": "https://e.com/a"}), "not both"},
		{"media link not http", msg("video", map[string]any{"link": "ftp://e.com/a"}), "http or https"},
		{"caption too long", msg("image", map[string]any{"link": "https://e.com/a", "caption": repeat(1025)}), "image['caption'] must be at most 1024"},
		{"caption on audio", msg("audio", map[string]any{"link": "https://e.com/a", "caption": "x"}), "audio['caption']"},
		{"filename on image", msg("image", map[string]any{"link": "https://e.com/a", "filename": "a"}), "filename"},
		{"latitude out of range", msg("location", map[string]any{"latitude": 91, "longitude": 0}), "latitude"},
		{"no contacts", msg("contacts", []any{}), "contacts must have 1 to 5"},
		{"six contacts", msg("contacts", []any{1, 2, 3, 4, 5, 6}), "contacts"},
		{"contact without name", msg("contacts", []any{map[string]any{"phones": []any{}}}), "contacts[0]['name']"},
		{"four buttons", msg("interactive", interactive("button", map[string]any{"buttons": buttons(4)})), "buttons'] must have 1 to 3"},
		{"button title too long", msg("interactive", interactive("button", map[string]any{"buttons": []any{
			map[string]any{"type": "reply", "reply": map[string]any{"id": "a", "title": repeat(21)}}}})), "['reply']['title'] must be at most 20"},
		{"button id too long", msg("interactive", interactive("button", map[string]any{"buttons": []any{
			map[string]any{"type": "reply", "reply": map[string]any{"id": repeat(257), "title": "t"}}}})), "['reply']['id'] must be at most 256"},
		{"same button twice", msg("interactive", interactive("button", map[string]any{"buttons": []any{buttons(1)[0], buttons(1)[0]}})), "unlike the other buttons"},
		{"no body", msg("interactive", map[string]any{"type": "button", "action": map[string]any{"buttons": buttons(1)}}), "interactive['body'] is required"},
		{"body too long", msg("interactive", map[string]any{"type": "button", "body": map[string]any{"text": repeat(1025)}, "action": map[string]any{"buttons": buttons(1)}}), "['body']['text'] must be at most 1024"},
		{"header too long", msg("interactive", map[string]any{"type": "button", "header": map[string]any{"type": "text", "text": repeat(61)},
			"body": map[string]any{"text": "b"}, "action": map[string]any{"buttons": buttons(1)}}), "['header']['text'] must be at most 60"},
		{"footer too long", msg("interactive", map[string]any{"type": "button", "footer": map[string]any{"text": repeat(61)},
			"body": map[string]any{"text": "b"}, "action": map[string]any{"buttons": buttons(1)}}), "['footer']['text'] must be at most 60"},
		{"list button too long", msg("interactive", interactive("list", map[string]any{"button": repeat(21), "sections": []any{map[string]any{"rows": rows(1)}}})), "['button'] must be at most 20"},
		{"no sections", msg("interactive", interactive("list", map[string]any{"button": "b", "sections": []any{}})), "sections'] must have 1 to 10"},
		{"eleven sections", msg("interactive", interactive("list", map[string]any{"button": "b", "sections": func() []any {
			var out []any
			for i := range 11 {
				out = append(out, map[string]any{"title": fmt.Sprint("s", i), "rows": []any{map[string]any{"id": fmt.Sprint(i), "title": "t"}}})
			}
			return out
		}()})), "sections'] must have 1 to 10"},
		{"untitled sections", msg("interactive", interactive("list", map[string]any{"button": "b", "sections": []any{
			map[string]any{"rows": []any{map[string]any{"id": "1", "title": "t"}}}, map[string]any{"rows": []any{map[string]any{"id": "2", "title": "t"}}}}})), "sections'][0]['title'] is required"},
		{"section title too long", msg("interactive", interactive("list", map[string]any{"button": "b", "sections": []any{map[string]any{"title": repeat(25), "rows": rows(1)}}})), "['title'] must be at most 24"},
		{"eleven rows", msg("interactive", interactive("list", map[string]any{"button": "b", "sections": []any{map[string]any{"rows": rows(11)}}})), "at most 10 rows"},
		{"row title too long", msg("interactive", interactive("list", map[string]any{"button": "b", "sections": []any{map[string]any{"rows": []any{map[string]any{"id": "1", "title": repeat(25)}}}}})), "['rows'][0]['title'] must be at most 24"},
		{"row description too long", msg("interactive", interactive("list", map[string]any{"button": "b", "sections": []any{map[string]any{"rows": []any{map[string]any{"id": "1", "title": "t", "description": repeat(73)}}}}})), "['description'] must be at most 72"},
		{"row id too long", msg("interactive", interactive("list", map[string]any{"button": "b", "sections": []any{map[string]any{"rows": []any{map[string]any{"id": repeat(201), "title": "t"}}}}})), "['rows'][0]['id'] must be at most 200"},
		{"cta without url", msg("interactive", interactive("cta_url", map[string]any{"name": "cta_url", "parameters": map[string]any{"display_text": "Open"}})), "['url'] must be an http"},
		{"location request misnamed", msg("interactive", interactive("location_request_message", map[string]any{"name": "location"})), "send_location"},
		{"unknown interactive", msg("interactive", interactive("carousel", map[string]any{})), "interactive['type']"},
		{"reaction without message", msg("reaction", map[string]any{"emoji": "👍"}), "reaction['message_id']"},
		{"template without language", msg("template", map[string]any{"name": "hello"}), "template['language']"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.send(t, tc.msg)
			ge := graphErr(t, err)
			if ge.Status != 400 || ge.Code != CodeInvalidParameter || !strings.Contains(ge.Details, tc.details) || ge.FBTraceID == "" {
				t.Errorf("got %v (trace %q), want code 100 naming %q", ge, ge.FBTraceID, tc.details)
			}
		})
	}
	if st := e.sim.Stats(); st.Accepted != 0 || st.Rejected["100"] == 0 {
		t.Errorf("stats: %+v", st)
	}
}

func TestSimRefusesBadTokens(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, SimOptions{})
	e.sim.AddNumber("999", "555", "+1 555-000-0555", "Other", "EAAG-other-business")
	ctx := context.Background()
	body, _ := json.Marshal(msg("text", map[string]any{"body": "x"}))
	for _, tc := range []struct {
		name, token, number string
		code                int
	}{
		{"no token", "", testNumber, CodeAccessToken},
		{"unknown token", "EAAG-nobody-issued-this", testNumber, CodeAccessToken},
		{"another business's number", "EAAG-other-business", testNumber, CodeInvalidParameter},
		{"unknown number", testToken, "404", CodeInvalidParameter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client.SendMessage(ctx, tc.number, tc.token, body)
			ge := graphErr(t, err)
			if ge.Code != tc.code || (tc.code == CodeAccessToken && ge.Status != 401) {
				t.Errorf("send: %v, want code %d", ge, tc.code)
			}
			if tc.token != "" && strings.Contains(err.Error(), tc.token) {
				t.Errorf("the error %q shows the token", err)
			}
			_, err = e.client.UploadMedia(ctx, tc.number, tc.token, "image/png", "a.png", strings.NewReader("png"))
			if ge := graphErr(t, err); ge.Code != tc.code {
				t.Errorf("upload: %v, want code %d", ge, tc.code)
			}
			if tc.number == testNumber {
				_, err = e.client.Templates(ctx, testWABA, tc.token)
				if ge := graphErr(t, err); ge.Code != tc.code {
					t.Errorf("templates: %v, want code %d", ge, tc.code)
				}
			}
		})
	}
}

func TestSimMarkRead(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, SimOptions{})
	ctx := context.Background()
	wamid := e.openWindow(t, testCustomer)
	if err := e.client.MarkRead(ctx, testNumber, testToken, wamid, false); err != nil {
		t.Fatal(err)
	}
	if err := e.client.MarkRead(ctx, testNumber, testToken, wamid, true); err != nil {
		t.Fatal(err)
	}
	if st := e.sim.Stats(); st.Reads != 2 || st.Typing != 1 {
		t.Errorf("reads %d, typing %d; want 2, 1", st.Reads, st.Typing)
	}
	err := e.client.MarkRead(ctx, testNumber, testToken, "wamid.not-received", false)
	if ge := graphErr(t, err); ge.Code != CodeInvalidParameter || !strings.Contains(ge.Details, "message_id") {
		t.Errorf("unknown wamid: %v", ge)
	}
	status, answer := e.post(t, "/v23.0/"+testNumber+"/messages", map[string]any{"messaging_product": "whatsapp", "status": "read",
		"message_id": wamid, "typing_indicator": map[string]any{"type": "audio"}})
	if status != 400 || !strings.Contains(fmt.Sprint(answer), "typing_indicator") {
		t.Errorf("typing indicator of type audio: %d %v", status, answer)
	}
}
