-- stackr-kit: device sessions (flavor flexible). Only a SHA-256 of the token is stored.
CREATE TABLE stackr_device_session (
    id           text PRIMARY KEY,
    token_hash   text NOT NULL UNIQUE,
    user_id      text NOT NULL,
    label        text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX stackr_device_session_user_id ON stackr_device_session (user_id);
