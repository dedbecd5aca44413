package meta

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Simulator is Meta's Graph API as wam's tests, benchmarks and demo mode
// meet it: the numbers it knows, the WhatsApp Business Account each belongs
// to, and the access tokens that may act for them. It answers the way the
// real API does, errors included.
type Simulator struct {
	mu      sync.Mutex
	numbers map[string]simNumber // by phone number id
}

type simNumber struct {
	PhoneNumber
	waba, token string
}

// simPageSize is how many numbers a page of /{waba}/phone_numbers holds:
// the Graph API's default page size.
const simPageSize = 25

// NewSimulator returns a Simulator that knows no numbers yet.
func NewSimulator() *Simulator { return &Simulator{numbers: map[string]simNumber{}} }

// AddNumber makes the simulator know phone number id, in the WhatsApp
// Business Account waba, reachable with token. A token reaches the WABAs of
// the numbers it was given for, and sees all their numbers.
func (s *Simulator) AddNumber(waba, id, display, verifiedName, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.numbers[id] = simNumber{PhoneNumber{ID: id, DisplayPhoneNumber: display, VerifiedName: verifiedName}, waba, token}
}

// ServeHTTP answers GET /{version}/{phone-number-id} and
// GET /{version}/{waba-id}/phone_numbers.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	get := r.Method == http.MethodGet && strings.HasPrefix(parts[0], "v")
	switch {
	case get && len(parts) == 2:
		s.phoneNumber(w, parts[1], token)
	case get && len(parts) == 3 && parts[2] == "phone_numbers":
		s.wabaPhoneNumbers(w, parts[1], token, r.URL.Query().Get("after"))
	default:
		graphError(w, http.StatusBadRequest, "Unsupported request", "GraphMethodException", 100, 0)
	}
}

func (s *Simulator) phoneNumber(w http.ResponseWriter, id, token string) {
	s.mu.Lock()
	n, ok := s.numbers[id]
	s.mu.Unlock()
	switch {
	case token == "" || (ok && n.token != token) || (!ok && !s.knowsToken(token)):
		invalidToken(w)
	case !ok:
		unsupportedGet(w, id)
	default:
		writeJSON(w, n.PhoneNumber)
	}
}

// wabaPhoneNumbers lists the numbers of WABA waba by phone number id, a
// page at a time; the cursor after is the index where the page starts.
// Like Meta, it does not tell a WABA that does not exist from one the
// token may not read.
func (s *Simulator) wabaPhoneNumbers(w http.ResponseWriter, waba, token, after string) {
	if token == "" || !s.knowsToken(token) {
		invalidToken(w)
		return
	}
	s.mu.Lock()
	var list []PhoneNumber
	readable := false
	for _, n := range s.numbers {
		if n.waba == waba {
			list = append(list, n.PhoneNumber)
			readable = readable || n.token == token
		}
	}
	s.mu.Unlock()
	if !readable {
		unsupportedGet(w, waba)
		return
	}
	slices.SortFunc(list, func(a, b PhoneNumber) int { return strings.Compare(a.ID, b.ID) })
	start := 0
	if after != "" {
		var err error
		if start, err = strconv.Atoi(after); err != nil || start < 0 || start > len(list) {
			graphError(w, http.StatusBadRequest, "Invalid parameter", "OAuthException", 100, 0)
			return
		}
	}
	end := min(start+simPageSize, len(list))
	paging := map[string]any{"cursors": map[string]string{"before": strconv.Itoa(start), "after": strconv.Itoa(end)}}
	if end < len(list) {
		paging["next"] = "https://graph.facebook.com/" + waba + "/phone_numbers?after=" + strconv.Itoa(end)
	}
	writeJSON(w, map[string]any{"data": list[start:end], "paging": paging})
}

func (s *Simulator) knowsToken(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.numbers {
		if n.token == token {
			return true
		}
	}
	return false
}

func invalidToken(w http.ResponseWriter) {
	graphError(w, http.StatusUnauthorized, "Invalid OAuth access token - Cannot parse access token", "OAuthException", 190, 0)
}

// unsupportedGet is Meta's answer for an object that does not exist or that
// the token may not read: it does not say which.
func unsupportedGet(w http.ResponseWriter, id string) {
	graphError(w, http.StatusBadRequest, "Unsupported get request. Object with ID '"+id+"' does not exist, "+
		"cannot be loaded due to missing permissions, or does not support this operation", "GraphMethodException", 100, 33)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func graphError(w http.ResponseWriter, status int, msg, typ string, code, subcode int) {
	e := map[string]any{"message": msg, "type": typ, "code": code, "fbtrace_id": "AbCdEfGhIjK"}
	if subcode != 0 {
		e["error_subcode"] = subcode
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": e})
}
