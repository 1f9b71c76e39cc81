-- Service `wallet`: its own tables. Users are referenced by auth's user id; identity data
-- (email, name, password) lives only in auth.
CREATE TABLE note (
    id         bigserial PRIMARY KEY,
    user_id    text NOT NULL,
    text       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX note_user_id ON note (user_id);
