-- Queries of the workers that act at Meta for a tenant's numbers (numbers/,
-- sender/), across tenants as the table owner.

-- SenderNumber is what sending from a number needs: its tenant and limits,
-- and its sealed access token.
-- name: SenderNumber :one
SELECT p.tenant_id, p.phone_number_id, p.waba_id, p.messages_per_second, p.secret_key_id, p.access_token_enc,
       p.token_status, t.messages_per_minute
FROM phone_numbers p JOIN tenants t ON t.id = p.tenant_id
WHERE p.phone_number_id = @phone_number_id;

-- InvalidateToken records Meta's refusal of a number's token (error 190),
-- unless the token was replaced meanwhile.
-- name: InvalidateToken :exec
UPDATE phone_numbers SET token_status = 'invalid', token_error = @error, token_invalid_at = @at
WHERE phone_number_id = @phone_number_id AND access_token_enc = @access_token_enc;

-- SentState is how far the read model knows a message got: its wamid (set
-- by the acceptance, or by a status naming the message) and status.
-- name: SentState :one
SELECT wamid, status FROM messages WHERE tenant_id = @tenant_id AND id = @id;

-- WABANumbers are a tenant's numbers in WhatsApp Business Account waba,
-- those with a working token first: any of them may act for the WABA.
-- name: WABANumbers :many
SELECT p.tenant_id, p.phone_number_id, p.waba_id, p.messages_per_second, p.secret_key_id, p.access_token_enc,
       p.token_status, t.messages_per_minute
FROM phone_numbers p JOIN tenants t ON t.id = p.tenant_id
WHERE p.tenant_id = @tenant_id AND p.waba_id = @waba_id AND p.access_token_enc IS NOT NULL
ORDER BY (p.token_status = 'valid') DESC, p.created_at;
