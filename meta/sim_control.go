package meta

import (
	"encoding/json"
	"net/http"
	"time"
)

// serveSim answers the simulator's own endpoints, below /_sim/, which no
// Meta has: for tests, benchmarks and people driving `wam sim`.
//
//	GET  /_sim/stats               the counts (SimStats); ?sends=false leaves the sends out
//	POST /_sim/customers/messages  {phone_number_id, wa_id, name, text, kind} makes a customer write; answers {wamid}
//	GET  /_sim/faults              the faults in force
//	PUT  /_sim/faults              replaces them ({error_share, error_code, burst_every: "10s", …})
//	POST /_sim/numbers             {waba_id, phone_number_id, display_phone_number, verified_name, access_token, throughput}
//	POST /_sim/templates           {waba_id, name, language, category, status, components} adds a template without review; answers {id}
func (s *Simulator) serveSim(w http.ResponseWriter, r *http.Request, path string) {
	switch {
	case path == "stats" && r.Method == http.MethodGet:
		s.serveStats(w, r)
	case path == "customers/messages" && r.Method == http.MethodPost:
		var m struct {
			PhoneNumberID string `json:"phone_number_id"`
			WaID          string `json:"wa_id"`
			Name          string `json:"name"`
			Text          string `json:"text"`
			Kind          string `json:"kind"`
		}
		if !decodeSim(w, r, &m) {
			return
		}
		wamid, err := s.customerMessage(r.Context(), m.PhoneNumberID, m.WaID, m.Name, cmpOr(m.Kind, CustomerText), m.Text)
		if err != nil {
			simProblem(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, map[string]string{"wamid": wamid})
	case path == "faults" && r.Method == http.MethodGet:
		s.mu.Lock()
		f := s.faults
		s.mu.Unlock()
		writeJSON(w, f)
	case path == "faults" && (r.Method == http.MethodPut || r.Method == http.MethodPost):
		var f Faults
		if !decodeSim(w, r, &f) {
			return
		}
		s.SetFaults(f)
		writeJSON(w, f)
	case path == "numbers" && r.Method == http.MethodPost:
		var n struct {
			WABAID             string `json:"waba_id"`
			PhoneNumberID      string `json:"phone_number_id"`
			DisplayPhoneNumber string `json:"display_phone_number"`
			VerifiedName       string `json:"verified_name"`
			AccessToken        string `json:"access_token"`
			Throughput         int    `json:"throughput"`
		}
		if !decodeSim(w, r, &n) {
			return
		}
		if n.WABAID == "" || n.PhoneNumberID == "" || n.AccessToken == "" {
			simProblem(w, http.StatusBadRequest, "waba_id, phone_number_id and access_token are required")
			return
		}
		s.AddNumber(n.WABAID, n.PhoneNumberID, n.DisplayPhoneNumber, n.VerifiedName, n.AccessToken)
		if n.Throughput != 0 {
			s.SetThroughput(n.PhoneNumberID, n.Throughput)
		}
		writeJSON(w, map[string]any{"customers": s.Customers(n.PhoneNumberID)})
	case path == "templates" && r.Method == http.MethodPost:
		var t struct {
			Template
			WABAID string `json:"waba_id"`
		}
		if !decodeSim(w, r, &t) {
			return
		}
		if e := checkTemplate(t.Name, t.Language, t.Category, t.Components); e != nil || t.WABAID == "" {
			simProblem(w, http.StatusBadRequest, "waba_id, and a template as Meta takes it, are required")
			return
		}
		writeJSON(w, map[string]string{"id": s.AddTemplate(t.WABAID, t.Template)})
	default:
		simProblem(w, http.StatusNotFound, "no such simulator endpoint: "+r.Method+" /_sim/"+path)
	}
}

func decodeSim(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(v); err != nil {
		simProblem(w, http.StatusBadRequest, "the body is not the JSON this endpoint takes: "+err.Error())
		return false
	}
	return true
}

func simProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": detail})
}

// faultsJSON is Faults with durations as Go writes them ("1.5s").
type faultsJSON struct {
	ErrorShare    float64 `json:"error_share"`
	ErrorCode     int     `json:"error_code"`
	BurstEvery    string  `json:"burst_every,omitempty"`
	BurstLength   string  `json:"burst_length,omitempty"`
	BurstCode     int     `json:"burst_code"`
	Latency       string  `json:"latency,omitempty"`
	LatencyJitter string  `json:"latency_jitter,omitempty"`
}

// MarshalJSON writes f with durations such as "250ms".
func (f Faults) MarshalJSON() ([]byte, error) {
	d := func(v time.Duration) string {
		if v == 0 {
			return ""
		}
		return v.String()
	}
	return json.Marshal(faultsJSON{f.ErrorShare, f.ErrorCode, d(f.BurstEvery), d(f.BurstLength), f.BurstCode, d(f.Latency), d(f.LatencyJitter)})
}

// UnmarshalJSON reads f with durations such as "250ms".
func (f *Faults) UnmarshalJSON(b []byte) error {
	var j faultsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	out := Faults{ErrorShare: j.ErrorShare, ErrorCode: j.ErrorCode, BurstCode: j.BurstCode}
	for _, p := range []struct {
		s string
		d *time.Duration
	}{{j.BurstEvery, &out.BurstEvery}, {j.BurstLength, &out.BurstLength}, {j.Latency, &out.Latency}, {j.LatencyJitter, &out.LatencyJitter}} {
		if p.s == "" {
			continue
		}
		v, err := time.ParseDuration(p.s)
		if err != nil {
			return err
		}
		*p.d = v
	}
	*f = out
	return nil
}
