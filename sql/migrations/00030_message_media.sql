-- +goose Up

-- message_media is a message's file as the API shows it (messages.media):
-- {id, status, mime_type, size, filename, error}, empty values left out.
-- One definition for the two writers of that column: the inbox projector's
-- UpsertMedia, and a rebuild's bulk path (SetMessageMedia), which copies
-- new media rows in and then gives their messages the object. STABLE, as
-- jsonb_build_object is: PostgreSQL then inlines it into the statements.
-- +goose StatementBegin
CREATE FUNCTION message_media(id uuid, status text, mime_type text, size bigint, filename text, error text)
RETURNS jsonb LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object('id', id, 'status', status, 'mime_type', NULLIF(mime_type, ''),
                                                'size', size, 'filename', NULLIF(filename, ''), 'error', NULLIF(error, '')))
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION message_media(uuid, text, text, bigint, text, text);
