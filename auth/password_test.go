package auth

import (
	"testing"
	"time"
)

// TestHashingIsBounded: with every hashing slot taken, a hash waits for one.
func TestHashingIsBounded(t *testing.T) {
	for range cap(hashing) {
		hashing <- struct{}{}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := HashPassword("a long passphrase", Argon2Params{Memory: 64, Time: 1, Threads: 1}); err != nil {
			t.Error(err)
		}
	}()
	select {
	case <-done:
		t.Fatal("hashed while every slot was taken")
	case <-time.After(50 * time.Millisecond):
	}
	for range cap(hashing) {
		<-hashing
	}
	<-done
}
