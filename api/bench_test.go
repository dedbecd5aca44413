package api_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/wam-project/wam/meta"
)

// BenchmarkWebhookHandler measures the whole webhook path short of the
// network: signature, routing, publish to the embedded JetStream, ack.
func BenchmarkWebhookHandler(b *testing.B) {
	for _, conns := range []int{1, 4} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) { benchWebhookHandler(b, conns) })
	}
}

func benchWebhookHandler(b *testing.B, conns int) {
	e := newEnvConns(b, conns)
	e.mustTenant("102290129340398", "123456123")
	gen := meta.NewWebhookGen("123456123", "15550783881", "102290129340398", 1)
	n := b.N
	bodies := make([][]byte, n)
	sigs := make([]string, n)
	size := 0
	for i := range bodies {
		bodies[i], _, _ = gen.Next()
		sigs[i] = sign(bodies[i])
		size += len(bodies[i])
	}
	b.SetBytes(int64(size / n))
	b.ResetTimer()
	b.SetParallelism(32)
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1)-1) % n
			req := httptest.NewRequest(http.MethodPost, "/api/webhook", bytes.NewReader(bodies[i]))
			req.Header.Set("X-Hub-Signature-256", sigs[i])
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				panic(fmt.Sprint("status ", rec.Code, rec.Body.String()))
			}
		}
	})
}
