package domain

// SendErrorClass is what the sender does about an error answer to a send.
type SendErrorClass int

// What to do about an error of Meta's.
const (
	// SendPermanent: record the failure; sending again cannot help.
	SendPermanent SendErrorClass = iota
	// SendRetry: back off (exponentially, with jitter) and try again.
	SendRetry
	// SendRetryBounded: as SendRetry, a few times only (Meta says
	// "unknown" or "unavailable"; it may be the message's fault).
	SendRetryBounded
	// SendPairRate: the recipient got too many messages too fast: back
	// off 4^n seconds and try again.
	SendPairRate
	// SendTokenInvalid: the number's access token is expired or invalid:
	// hold the number's queue until a new token is given.
	SendTokenInvalid
)

// ClassifySendError says what to do about Meta's error code (and the HTTP
// status it came with) for a send. Codes are Meta's (../shared/META.md);
// an HTTP 5xx without a known code is retried, any other unknown error is
// permanent.
func ClassifySendError(code, httpStatus int) SendErrorClass {
	switch code {
	case 130429, // throughput limit of the number
		4, 80007, // app, WABA API rate limit
		2, 1: // API service temporarily down, unknown API error
		return SendRetry
	case 131000, 131016: // something went wrong, service unavailable
		return SendRetryBounded
	case 131056: // pair rate limit
		return SendPairRate
	case 190: // access token expired or invalid
		return SendTokenInvalid
	case 100, 131009, 131026, 131047, 131051, 131052, 131053,
		132000, 132001, 132005, 132007, 132012, 132015, 132016, 133010, 368,
		131031, 131048, 131049, 131050, 131008, 131021:
		return SendPermanent
	}
	if httpStatus >= 500 {
		return SendRetry
	}
	return SendPermanent
}
