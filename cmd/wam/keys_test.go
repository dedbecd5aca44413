package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/pgtest"
)

func TestKeysRotate(t *testing.T) {
	newKey := func() string {
		k := make([]byte, 32)
		rand.Read(k)
		return base64.StdEncoding.EncodeToString(k)
	}
	k1, k2 := "1:"+newKey(), "2:"+newKey()
	url := pgtest.URL(t)
	env := map[string]string{"DATABASE_URL": url, "WAM_DATA_DIR": t.TempDir(), "ENCRYPTION_KEY": k1}
	tenant, _ := bootstrap(t, env, "999")

	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ring1, _ := auth.ParseKeyRing(k1)
	tid := uuid.MustParse(tenant)
	aad := auth.CredentialAAD(tid, "123", "access_token")
	keyID, enc, _ := ring1.Encrypt([]byte("EAAG-the-token"), aad)
	if _, err := db.New(pool).ConnectNumber(ctx, db.ConnectNumberParams{
		ID: uuid.New(), TenantID: tid, PhoneNumberID: "123", DisplayPhoneNumber: "+15550001111",
		MessagesPerSecond: 80, SecretKeyID: keyID, AccessTokenEnc: enc,
	}); err != nil {
		t.Fatal(err)
	}

	env["ENCRYPTION_KEY"] = k2 + "," + k1
	var out struct{ Rotated, AlreadyCurrent int }
	if err := json.Unmarshal([]byte(mustRun(t, env, "keys", "rotate")), &struct {
		R *int `json:"rotated"`
		A *int `json:"already_current"`
	}{&out.Rotated, &out.AlreadyCurrent}); err != nil || out.Rotated != 1 {
		t.Fatalf("rotate: %+v %v", out, err)
	}

	// The old key can go now: the new one alone opens the credential.
	ring2, _ := auth.ParseKeyRing(k2)
	var id string
	if err := pool.QueryRow(ctx, "SELECT secret_key_id, access_token_enc FROM phone_numbers WHERE phone_number_id = '123'").Scan(&id, &enc); err != nil {
		t.Fatal(err)
	}
	if plain, err := ring2.Decrypt(id, enc, aad); err != nil || string(plain) != "EAAG-the-token" {
		t.Fatalf("after rotation: %q %v", plain, err)
	}
	// Without the old key nothing can be rotated, and it says why.
	env["ENCRYPTION_KEY"] = "3:" + newKey()
	err = run(ctx, []string{"wam", "keys", "rotate"}, getenvFrom(env), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "ENCRYPTION_KEY") {
		t.Fatalf("rotating without the old key: %v", err)
	}
}
