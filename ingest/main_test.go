package ingest

import (
	"testing"

	"github.com/wam-project/wam/sql/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
