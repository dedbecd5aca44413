package rebuild

import (
	"context"
	"fmt"
	"strings"

	"github.com/wam-project/wam/sql/db"
)

// Bookkeeping are the read-model columns that depend on where batches
// were cut (a batch merges a row's events into one write, which takes the
// time and sequence of the last of them; see projections/batching_test.go)
// or are the media downloader's own. Everything else in a row is what the
// stream says, whoever projected it and however.
var Bookkeeping = []string{"created_at", "updated_at", "last_seq", "attempts", "next_attempt_at"}

// Checksum is a checksum of every read-model table but for the
// Bookkeeping columns, one line a table ("messages 1200 <sums of the rows' md5s>"): two
// databases with the same Checksum hold the same read models.
func Checksum(ctx context.Context, q db.DBTX) (string, error) {
	var sb strings.Builder
	for _, t := range Tables {
		var n int64
		var sum string
		// Each row's md5 in two 60-bit halves, summed: the same for the
		// same rows in any order, and constant memory however many rows
		// (an aggregate of the rows' text outgrew PostgreSQL's 1 GB
		// limit on a million messages).
		err := q.QueryRow(ctx, fmt.Sprintf(
			`SELECT count(*), coalesce(sum(('x' || substr(h, 1, 15))::bit(60)::bigint)::text || '.' ||
			                           sum(('x' || substr(h, 16, 15))::bit(60)::bigint)::text, '')
			 FROM (SELECT md5((to_jsonb(x) - $1::text[])::text) AS h FROM %s x) AS d`, ident("public", t)),
			Bookkeeping).Scan(&n, &sum)
		if err != nil {
			return "", fmt.Errorf("checksum of %s: %w", t, err)
		}
		fmt.Fprintf(&sb, "%s %d %s\n", t, n, sum)
	}
	return sb.String(), nil
}
