package meta

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
)

// simError is an error answer of the simulated Graph API, in Meta's shape:
// {"error": {message, type, code, error_subcode, error_data: {details},
// fbtrace_id}}.
type simError struct {
	status  int
	code    int
	subcode int
	typ     string
	message string
	details string
}

// metaCodes are the errors the simulator answers with: HTTP status and
// Meta's title for each code. WhatsApp's own codes (above 130000) carry
// error_data; Graph API codes do not.
var metaCodes = map[int]struct {
	status int
	title  string
}{
	1:                      {http.StatusInternalServerError, "An unknown error occurred"},
	2:                      {http.StatusServiceUnavailable, "Service temporarily unavailable"},
	4:                      {http.StatusBadRequest, "Application request limit reached"},
	80007:                  {http.StatusBadRequest, "Rate limit issues"},
	CodeInvalidParameter:   {http.StatusBadRequest, "Invalid parameter"},
	CodeAccessToken:        {http.StatusUnauthorized, "Invalid OAuth access token - Cannot parse access token"},
	368:                    {http.StatusForbidden, "Temporarily blocked for policies violations"},
	CodeThroughput:         {http.StatusBadRequest, "Rate limit hit"},
	CodeUnknown:            {http.StatusInternalServerError, "Something went wrong"},
	CodeServiceUnavailable: {http.StatusServiceUnavailable, "Service unavailable"},
	CodeUndeliverable:      {http.StatusBadRequest, "Message undeliverable"},
	131031:                 {http.StatusForbidden, "Account has been locked"},
	CodeReengagement:       {http.StatusBadRequest, "Re-engagement message"},
	131048:                 {http.StatusBadRequest, "Spam rate limit hit"},
	131049:                 {http.StatusBadRequest, "This message was not delivered to maintain healthy ecosystem engagement."},
	131050:                 {http.StatusBadRequest, "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business."},
	CodeMediaUpload:        {http.StatusBadRequest, "Media upload error"},
	CodePairRate:           {http.StatusBadRequest, "(Business Account, Consumer Account) pair rate limit hit"},
	CodeTemplateParamCount: {http.StatusBadRequest, "Number of parameters does not match the expected number of params"},
	CodeTemplateMissing:    {http.StatusNotFound, "Template name does not exist in the translation"},
	CodeTemplatePaused:     {http.StatusBadRequest, "Template is Paused"},
	CodeTemplateDisabled:   {http.StatusBadRequest, "Template is Disabled"},
}

// metaErr is Meta's error code with details; a code the table does not
// know answers 400 with a generic title.
func metaErr(code int, details string) *simError {
	c, ok := metaCodes[code]
	if !ok {
		c.status, c.title = http.StatusBadRequest, "Error "+strconv.Itoa(code)
	}
	e := &simError{status: c.status, code: code, typ: "OAuthException", message: c.title, details: details}
	if code > 1000 {
		e.message = "(#" + strconv.Itoa(code) + ") " + c.title
	}
	return e
}

// statusError is the entry of a failed status's errors[] for code.
func statusError(code int, details string) genError {
	return genError{code: code, title: metaCodes[code].title, details: details}
}

func errInvalidToken() *simError { return metaErr(CodeAccessToken, "") }

// errParam is error 100 with details naming what is wrong with the request.
func errParam(format string, args ...any) *simError {
	return metaErr(CodeInvalidParameter, fmt.Sprintf(format, args...))
}

// errUnsupported is Meta's answer for an object that does not exist or that
// the token may not use: it does not say which.
func errUnsupported(method, id string) *simError {
	e := metaErr(CodeInvalidParameter, "")
	e.typ, e.subcode = "GraphMethodException", CodeUnsupportedOperation
	e.message = "Unsupported " + strings.ToLower(method) + " request. Object with ID '" + id + "' does not exist, " +
		"cannot be loaded due to missing permissions, or does not support this operation"
	return e
}

func unsupported(w http.ResponseWriter, method, id string) { errUnsupported(method, id).write(w) }

// unknownPath is Meta's answer for a path it has no endpoint for.
func unknownPath(w http.ResponseWriter, path string) {
	(&simError{status: http.StatusBadRequest, code: 2500, typ: "OAuthException",
		message: "Unknown path components: " + path}).write(w)
}

func (e *simError) Error() string { return e.message + ": " + e.details }

func (e *simError) write(w http.ResponseWriter) {
	body := map[string]any{"message": e.message, "type": e.typ, "code": e.code, "fbtrace_id": fbTraceID()}
	if e.subcode != 0 {
		body["error_subcode"] = e.subcode
	}
	if e.details != "" || e.code > 1000 {
		body["error_data"] = map[string]string{"messaging_product": "whatsapp", "details": e.details}
	}
	w.Header().Set("Content-Type", "application/json")
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `OAuth "Facebook Platform" "invalid_token" "`+e.message+`"`)
	}
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": body})
}

// fbTraceID is an id of the kind Meta gives each answer for its support.
func fbTraceID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
	b := make([]byte, 23)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}
