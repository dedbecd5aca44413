package meta

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
)

// Simulator is Meta's Graph API as wam's tests, benchmarks and demo mode
// meet it: the numbers it knows, and the access tokens that may act for
// them. It answers the way the real API does, errors included.
type Simulator struct {
	mu      sync.Mutex
	numbers map[string]simNumber // by phone number id
}

type simNumber struct {
	PhoneNumber
	token string
}

// NewSimulator returns a Simulator that knows no numbers yet.
func NewSimulator() *Simulator { return &Simulator{numbers: map[string]simNumber{}} }

// AddNumber makes the simulator know phone number id, reachable with token.
func (s *Simulator) AddNumber(id, display, verifiedName, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.numbers[id] = simNumber{PhoneNumber{ID: id, DisplayPhoneNumber: display, VerifiedName: verifiedName}, token}
}

// ServeHTTP answers GET /{version}/{phone-number-id}.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if r.Method != http.MethodGet || len(parts) != 2 || !strings.HasPrefix(parts[0], "v") {
		graphError(w, http.StatusBadRequest, "Unsupported request", "GraphMethodException", 100)
		return
	}
	s.mu.Lock()
	n, ok := s.numbers[parts[1]]
	s.mu.Unlock()
	switch {
	case token == "" || (ok && n.token != token) || (!ok && !s.knowsToken(token)):
		graphError(w, http.StatusUnauthorized, "Invalid OAuth access token - Cannot parse access token", "OAuthException", 190)
	case !ok:
		graphError(w, http.StatusBadRequest, "Unsupported get request. Object with ID '"+parts[1]+"' does not exist", "GraphMethodException", 100)
	default:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(n.PhoneNumber)
	}
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

func graphError(w http.ResponseWriter, status int, msg, typ string, code int) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"message": msg, "type": typ, "code": code, "fbtrace_id": "AbCdEfGhIjK",
	}})
}
