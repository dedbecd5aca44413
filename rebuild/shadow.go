package rebuild

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

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

// createShadow makes schema with an empty, unlogged copy of every
// read-model table: its columns, defaults and checks, the unique indexes
// and constraints the projector's ON CONFLICT clauses and lookups need,
// its row-level security and policies and its grants. The other indexes
// and the foreign keys come later (finishShadow), once the rows are in.
// Its own projector_checkpoints table keeps the shadow's progress apart
// from the live projector's.
func createShadow(ctx context.Context, conn *pgx.Conn, schema string, shapes map[string]shape) error {
	stmts := []string{"CREATE SCHEMA " + ident(schema)}
	for _, t := range Tables {
		st := ident(schema, t)
		stmts = append(stmts, fmt.Sprintf("CREATE UNLOGGED TABLE %s (LIKE %s INCLUDING ALL EXCLUDING INDEXES)", st, ident("public", t)))
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
	return execAll(ctx, conn, stmts)
}

// finishShadow builds what createShadow left out, in the cheapest order:
// the other indexes while the tables are still unlogged, then each table
// made logged (PostgreSQL writes it to the WAL once, whole), then the
// foreign keys (which a logged table may only have to logged ones), and
// statistics for the planner.
func finishShadow(ctx context.Context, conn *pgx.Conn, schema string, shapes map[string]shape) error {
	var stmts, fks []string
	for _, t := range Tables {
		st := ident(schema, t)
		for _, r := range shapes[t] {
			switch {
			case r.Kind == "index" && !r.Unique:
				def, err := indexOn(r.Def, t, schema)
				if err != nil {
					return err
				}
				stmts = append(stmts, def)
			case r.Kind == "constraint" && !r.Unique:
				// Foreign keys name their table unqualified (the shapes are
				// read on public's search path); conn's search path puts the
				// shadow schema first, so they point at its tables.
				fks = append(fks, fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s %s", st, ident(r.Name), r.Def))
			}
		}
	}
	for _, t := range Tables {
		stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s SET LOGGED", ident(schema, t)))
	}
	stmts = append(stmts, fks...)
	for _, t := range Tables {
		stmts = append(stmts, "ANALYZE "+ident(schema, t))
	}
	return execAll(ctx, conn, stmts)
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
