package rebuild

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/wam-project/wam/projections"
	"github.com/wam-project/wam/sql/db"
)

// Tables are the read models of the inbox projector: what it derives from
// the stream, and all a rebuild makes again. Configuration of record
// (tenants, users, numbers, keys) and bookkeeping (checkpoints, parked
// events, rebuild jobs) are never touched. The order is that of their
// foreign keys (notes name conversations): rows are inserted in this order
// and deleted in the reverse one.
var Tables = []string{"contacts", "conversations", "messages", "templates", "template_syncs", "notes", "media", "webhook_log"}

// shape is what a table has beside its columns (db.TableShape).
type shape []db.TableShapeRow

func ident(parts ...string) string { return pgx.Identifier(parts).Sanitize() }

// readShapes reads the shape of every read-model table in public.
func readShapes(ctx context.Context, q *db.Queries) (map[string]shape, error) {
	out := map[string]shape{}
	for _, t := range Tables {
		rows, err := q.TableShape(ctx, ident("public", t))
		if err != nil {
			return nil, fmt.Errorf("read the shape of %s: %w", t, err)
		}
		out[t] = rows
	}
	return out, nil
}

// createShadow makes schema with an empty copy of every read-model table:
// its columns, defaults and checks, the unique indexes and constraints the
// projector's ON CONFLICT clauses and lookups need, its row-level security
// and policies and its grants. The other indexes and the foreign keys come
// later (finishShadow), once the rows are in. The tables are logged from
// the start: the bulk path copies the rows in, and writing that to the WAL
// as it goes costs less than an unlogged table made logged after (SET
// LOGGED rewrites the table and its indexes). Its own unlogged
// projector_checkpoints table keeps the shadow's progress apart from the
// live projector's.
func createShadow(ctx context.Context, conn *pgx.Conn, schema string, shapes map[string]shape) error {
	stmts := []string{"CREATE SCHEMA " + ident(schema)}
	for _, t := range Tables {
		st := ident(schema, t)
		stmts = append(stmts, fmt.Sprintf("CREATE TABLE %s (LIKE %s INCLUDING ALL EXCLUDING INDEXES)", st, ident("public", t)))
		for _, r := range shapes[t] {
			switch {
			case r.Kind == "constraint" && r.Unique:
				stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s %s", st, ident(r.Name), r.Def))
			case r.Kind == "index" && r.Unique:
				def, err := indexOn(r.Def, t, schema)
				if err != nil {
					return err
				}
				stmts = append(stmts, def)
			case r.Kind == "policy":
				stmts = append(stmts, fmt.Sprintf("CREATE POLICY %s ON %s %s", ident(r.Name), st, r.Def))
			case r.Kind == "grant":
				stmts = append(stmts, fmt.Sprintf("GRANT %s ON %s TO %s", r.Name, st, r.Def))
			case r.Kind == "rls":
				stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s ENABLE ROW LEVEL SECURITY", st))
			case r.Kind == "force_rls":
				stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s FORCE ROW LEVEL SECURITY", st))
			}
		}
	}
	stmts = append(stmts, fmt.Sprintf("CREATE UNLOGGED TABLE %s (LIKE %s INCLUDING ALL)",
		ident(schema, "projector_checkpoints"), ident("public", "projector_checkpoints")))
	// In one round trip: without arguments pgx sends them as one simple
	// query, which PostgreSQL runs as one transaction.
	if _, err := conn.Exec(ctx, strings.Join(stmts, ";\n")); err != nil {
		return fmt.Errorf("%s: %w", strings.Join(stmts, "; "), err)
	}
	return nil
}

// finishShadow builds what createShadow left out, each table on a
// connection of its own (the largest first), as many at once as pool
// gives: its other indexes, built once over all its rows rather than kept
// up row by row, and statistics for the planner; the foreign keys last.
// The tables the bulk path fills (projections.BulkTables) get statistics
// of their indexed columns only, the others of every column: ANALYZE of a
// wide table's jsonb and text costs more than the rest of finishing it,
// and the rows inserted count as changes towards autovacuum's ANALYZE of
// every column soon after (PostgreSQL resets that count only on an ANALYZE
// of every column).
func finishShadow(ctx context.Context, pool *pgxpool.Pool, schema string, shapes map[string]shape) error {
	var fks []string
	work := make(chan string, len(Tables))
	for _, t := range largestFirst(Tables) {
		work <- t
	}
	close(work)
	g, gctx := errgroup.WithContext(ctx)
	for range min(len(Tables), int(pool.Config().MaxConns)-1, 3) {
		g.Go(func() error {
			conn, err := pool.Acquire(gctx)
			if err != nil {
				return err
			}
			defer conn.Release()
			for t := range work {
				if err := finishTable(gctx, conn.Conn(), schema, t, shapes[t]); err != nil {
					return err
				}
			}
			return nil
		})
	}
	for _, t := range Tables {
		for _, r := range shapes[t] {
			if r.Kind == "constraint" && !r.Unique {
				// Foreign keys name their table unqualified (the shapes are
				// read on public's search path); pool's search path puts the
				// shadow schema first, so they point at its tables.
				fks = append(fks, fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s %s", ident(schema, t), ident(r.Name), r.Def))
			}
		}
	}
	if err := g.Wait(); err != nil {
		return err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	return execAll(ctx, conn.Conn(), fks)
}

// largestFirst are tables with the bulk path's first.
func largestFirst(tables []string) []string {
	out := append([]string(nil), projections.BulkTables...)
	for _, t := range tables {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// finishTable builds the other indexes of table and analyzes it (see
// finishShadow).
func finishTable(ctx context.Context, conn *pgx.Conn, schema, table string, sh shape) error {
	st := ident(schema, table)
	var stmts []string
	for _, r := range sh {
		if r.Kind == "index" && !r.Unique {
			def, err := indexOn(r.Def, table, schema)
			if err != nil {
				return err
			}
			stmts = append(stmts, def)
		}
	}
	if err := execAll(ctx, conn, stmts); err != nil {
		return err
	}
	analyze := "ANALYZE " + st
	if slices.Contains(projections.BulkTables, table) {
		cols, err := db.New(conn).IndexedColumns(ctx, st)
		if err != nil {
			return err
		}
		analyze += " (" + strings.Join(cols, ", ") + ")"
	}
	return execAll(ctx, conn, []string{analyze})
}

// indexOn turns the definition of an index of public.table into the same
// index on schema.table.
func indexOn(def, table, schema string) (string, error) {
	for _, on := range []string{" ON public." + table + " ", " ON " + ident("public", table) + " ", " ON " + table + " "} {
		if i := strings.Index(def, on); i >= 0 {
			return def[:i] + " ON " + ident(schema, table) + " " + def[i+len(on):], nil
		}
	}
	return "", fmt.Errorf("index definition %q: cannot tell its table", def)
}

func execAll(ctx context.Context, conn *pgx.Conn, stmts []string) error {
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}
