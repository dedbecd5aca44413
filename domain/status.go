package domain

// statusRank orders delivery statuses. A status only replaces another of a
// lower rank; failed outranks everything and nothing replaces it.
var statusRank = map[StatusKind]int{
	StatusQueued:    1,
	StatusAccepted:  2,
	StatusSent:      3,
	StatusDelivered: 4,
	StatusRead:      5,
	StatusPlayed:    6,
	StatusFailed:    100,
}

// StatusRank is the position of s in the forward-only order of delivery
// statuses; 0 for statuses outside it (received, unknown ones).
func StatusRank(s StatusKind) int { return statusRank[s] }

// AdvanceStatus returns the status a message has after next is observed on a
// message whose status is cur: statuses only move forward and failed is terminal.
func AdvanceStatus(cur, next StatusKind) StatusKind {
	if cur == StatusFailed {
		return cur
	}
	if StatusRank(next) > StatusRank(cur) {
		return next
	}
	return cur
}
