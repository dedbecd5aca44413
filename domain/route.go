package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// EntryRoute is what routing needs of one entry[] of a webhook: the WABA id
// and, for each of its changes in order, the phone_number_id of the number
// it is about ("" for changes that name none, such as template updates).
type EntryRoute struct {
	WABAID         string
	PhoneNumberIDs []string
}

// WebhookRoutes reads the routing keys of a webhook without decoding the
// rest, for the HTTP path that must store the body before Meta gets its 200.
// It fails with ErrUndecodable when the body is not JSON, or when entry,
// changes, metadata or the ids have JSON types that name nothing. Values
// nested deeper than MaxNesting are read as null: no id is that deep.
func WebhookRoutes(raw []byte) ([]EntryRoute, error) {
	if routes, ok := routesFast(raw); ok {
		return routes, nil
	}
	return routesSlow(raw)
}

// routesFast indexes the body once with the scanner DecodeWebhook uses; false
// when anything is not plain, and routesSlow decides.
func routesFast(raw []byte) ([]EntryRoute, bool) {
	i := skipSpace(raw, 0)
	if i == len(raw) || raw[i] != '{' {
		return nil, false
	}
	t, ok := scanText(raw, make([]bounds, 0, bytes.Count(raw, []byte("{"))+bytes.Count(raw, []byte("["))), MaxNesting)
	if !ok {
		return nil, false
	}
	f := fastDecoder{b: raw, s: string(raw), t: t}
	var entry span
	it, _ := f.object(span{i, t.valueEnd(i)})
	for m, ok := it.next(); ok; m, ok = it.next() {
		hit, ok := f.is(m, "entry")
		if !ok {
			return nil, false
		}
		if hit && entry.end != 0 {
			return nil, false // a repeated key: left to encoding/json's rules
		}
		if hit {
			entry = m.val
		}
	}
	entries, ok := f.array(entry)
	if !ok {
		return nil, false
	}
	var routes []EntryRoute
	for e, ok := entries.next(); ok; e, ok = entries.next() {
		r, ok := f.entryRoute(e)
		if !ok {
			return nil, false
		}
		routes = append(routes, r)
	}
	return routes, true
}

func (f *fastDecoder) entryRoute(v span) (EntryRoute, bool) {
	var id, list span
	it, ok := f.object(v)
	if !ok {
		return EntryRoute{}, false
	}
	for m, ok := it.next(); ok; m, ok = it.next() {
		isID, ok1 := f.is(m, "id")
		isChanges, ok2 := f.is(m, "changes")
		switch {
		case !ok1 || !ok2, isID && id.end != 0, isChanges && list.end != 0:
			return EntryRoute{}, false // escaped, case-folded or repeated keys
		case isID:
			id = m.val
		case isChanges:
			list = m.val
		}
	}
	var r EntryRoute
	if r.WABAID, ok = f.id(id); !ok {
		return EntryRoute{}, false
	}
	changes, ok := f.array(list)
	if !ok {
		return EntryRoute{}, false
	}
	for c, ok := changes.next(); ok; c, ok = changes.next() {
		pnid, ok := f.path(c, "value", "metadata", "phone_number_id")
		if !ok {
			return EntryRoute{}, false
		}
		r.PhoneNumberIDs = append(r.PhoneNumberIDs, pnid)
	}
	return r, true
}

// is reports whether m's key is name; false ok when the key is escaped or
// differs from name only in case, which encoding/json would match too:
// such bodies are left to routesSlow.
func (f *fastDecoder) is(m member, name string) (hit, ok bool) {
	key, ok := f.key(m)
	if !ok || (key != name && strings.EqualFold(key, name)) {
		return false, false
	}
	return key == name, true
}

// path is the id at the end of the object members named by keys, "" when a
// member is missing or null.
func (f *fastDecoder) path(v span, keys ...string) (string, bool) {
	for _, want := range keys {
		it, ok := f.object(v)
		if !ok {
			return "", false
		}
		v = span{}
		for m, ok := it.next(); ok; m, ok = it.next() {
			hit, ok := f.is(m, want)
			if !ok || (hit && v.end != 0) {
				return "", false
			}
			if hit {
				v = m.val
			}
		}
	}
	return f.id(v)
}

// routesSlow is WebhookRoutes for bodies routesFast leaves alone: escaped
// keys, odd but valid JSON, or no JSON at all.
func routesSlow(raw []byte) ([]EntryRoute, error) {
	var env struct {
		Entry []struct {
			ID      json.RawMessage `json:"id"`
			Changes []struct {
				Value struct {
					Metadata struct {
						PhoneNumberID json.RawMessage `json:"phone_number_id"`
					} `json:"metadata"`
				} `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	raw, _, _ = pruneDeep(raw) // the ids are never that deep
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUndecodable, err)
	}
	routes := make([]EntryRoute, len(env.Entry))
	for i, e := range env.Entry {
		waba, ok := idText(e.ID)
		if !ok {
			return nil, fmt.Errorf("%w: entry[%d].id is neither a string nor a number", ErrUndecodable, i)
		}
		routes[i].WABAID = waba
		for j, c := range e.Changes {
			pnid, ok := idText(c.Value.Metadata.PhoneNumberID)
			if !ok {
				return nil, fmt.Errorf("%w: entry[%d].changes[%d].value.metadata.phone_number_id is neither a string nor a number", ErrUndecodable, i, j)
			}
			routes[i].PhoneNumberIDs = append(routes[i].PhoneNumberIDs, pnid)
		}
	}
	return routes, nil
}

// idText is the text of a JSON string or integer, "" for missing or null.
func idText(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil && isDigits(strings.TrimPrefix(n.String(), "-")) {
		return n.String(), true
	}
	return "", false
}
