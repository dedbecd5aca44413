package erasure

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// filterWebhook removes from a Meta webhook what it says of one person —
// their entries in value.contacts, the messages they sent and the statuses
// of messages to them — and the changes and entries left with nothing. Only
// changes of the numbers in numbers are looked at (nil: all). changed
// tells whether anything was removed; empty that nothing is left, and the
// event is to go whole. What stays is kept as Meta sent it, value by
// value (objects are written again with their keys sorted).
func filterWebhook(body []byte, named func(key string) bool, numbers map[string]bool) (out []byte, changed, empty bool, err error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, false, false, fmt.Errorf("webhook: %w", err)
	}
	var entries []map[string]json.RawMessage
	if raw, ok := top["entry"]; ok {
		if err := json.Unmarshal(raw, &entries); err != nil {
			return nil, false, false, fmt.Errorf("entry: %w", err)
		}
	}
	var keptEntries []map[string]json.RawMessage
	for _, entry := range entries {
		var changes []map[string]json.RawMessage
		if raw, ok := entry["changes"]; ok {
			if err := json.Unmarshal(raw, &changes); err != nil {
				return nil, false, false, fmt.Errorf("changes: %w", err)
			}
		}
		var keptChanges []map[string]json.RawMessage
		entryChanged := false
		for _, ch := range changes {
			keep, chChanged, err := filterChange(ch, named, numbers)
			if err != nil {
				return nil, false, false, err
			}
			entryChanged = entryChanged || chChanged
			if keep {
				keptChanges = append(keptChanges, ch)
			}
		}
		if !entryChanged {
			keptEntries = append(keptEntries, entry)
			continue
		}
		changed = true
		if len(keptChanges) == 0 {
			continue
		}
		raw, err := json.Marshal(keptChanges)
		if err != nil {
			return nil, false, false, err
		}
		entry["changes"] = raw
		keptEntries = append(keptEntries, entry)
	}
	if !changed {
		return body, false, false, nil
	}
	if len(keptEntries) == 0 {
		return nil, true, true, nil
	}
	raw, err := json.Marshal(keptEntries)
	if err != nil {
		return nil, false, false, err
	}
	top["entry"] = raw
	out, err = json.Marshal(top)
	return out, true, false, err
}

// personKeys are the fields of each array of a change's value that name
// who it is about.
var personKeys = map[string][]string{
	"contacts": {"wa_id", "user_id"},
	"messages": {"from", "from_user_id"},
	"statuses": {"recipient_id", "recipient_user_id"},
}

// filterChange removes the person from one change (in place); keep is
// false when nothing of the change is left.
func filterChange(ch map[string]json.RawMessage, named func(string) bool, numbers map[string]bool) (keep, changed bool, err error) {
	rawValue, ok := ch["value"]
	if !ok {
		return true, false, nil
	}
	var value map[string]json.RawMessage
	if err := json.Unmarshal(rawValue, &value); err != nil {
		return true, false, nil // not an object: nothing of a person's
	}
	if numbers != nil {
		var md struct {
			PhoneNumberID string `json:"phone_number_id"`
		}
		_ = json.Unmarshal(value["metadata"], &md)
		if !numbers[md.PhoneNumberID] {
			return true, false, nil
		}
	}
	left := 0
	for field, keys := range personKeys {
		raw, ok := value[field]
		if !ok {
			continue
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			left++
			continue
		}
		var kept []json.RawMessage
		for _, it := range items {
			var fields map[string]json.RawMessage
			if json.Unmarshal(it, &fields) == nil && namesPerson(fields, keys, named) {
				changed = true
				continue
			}
			kept = append(kept, it)
		}
		left += len(kept)
		if len(kept) == len(items) {
			continue
		}
		if len(kept) == 0 {
			delete(value, field)
			continue
		}
		if value[field], err = json.Marshal(kept); err != nil {
			return false, false, err
		}
	}
	if !changed {
		return true, false, nil
	}
	if left == 0 {
		if _, hasErrors := value["errors"]; !hasErrors {
			return false, true, nil
		}
	}
	if ch["value"], err = json.Marshal(value); err != nil {
		return false, false, err
	}
	return true, true, nil
}

func namesPerson(fields map[string]json.RawMessage, keys []string, named func(string) bool) bool {
	for _, k := range keys {
		var s string
		if raw, ok := fields[k]; ok && json.Unmarshal(raw, &s) == nil && s != "" && named(s) {
			return true
		}
	}
	return false
}

// containsQuoted reports whether data holds any of needles as a JSON
// string ("…").
func containsQuoted(data []byte, needles []string) bool {
	for _, n := range needles {
		if n == "" {
			continue
		}
		if bytes.Contains(data, []byte(`"`+n+`"`)) {
			return true
		}
	}
	return false
}
