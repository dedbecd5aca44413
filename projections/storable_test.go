package projections

import "testing"

// TestCheckJSON holds checkJSON to what PostgreSQL 15 answers to
// SELECT $1::jsonb for each value.
func TestCheckJSON(t *testing.T) {
	t.Parallel()
	for raw, ok := range map[string]bool{
		`{"a":"b"}`:           true,
		`"\u0000"`:            false,
		`"\\u0000"`:           true,
		`"\ud800"`:            false,
		`"\udc00"`:            false,
		`"\ud800x"`:           false,
		`"\ud800\udc00"`:      true,
		`"\ud800\ud800"`:      false,
		"\"\xff\"":            false,
		`1e131071`:            true,
		`1e131072`:            false,
		`0.001e131074`:        true,
		`-1e-16383`:           true,
		`1e-16384`:            false,
		`1e1000000000000`:     false,
		`[1.5,-0.0e-00,2E+5]`: true,
	} {
		if err := checkJSON("test", "value", []byte(raw)); (err == nil) != ok {
			t.Errorf("checkJSON(%s) = %v, want ok %v", raw, err, ok)
		}
	}
}
