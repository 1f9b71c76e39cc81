-- stackr-kit: this service's own record of each user it has seen (first-call provisioning).
-- user_id is auth's user.id; no other identity data lives here.
CREATE TABLE stackr_user (
    user_id        text PRIMARY KEY,
    created_at     timestamptz NOT NULL DEFAULT now(),
    -- set once auth has acknowledged the provisioning call
    provisioned_at timestamptz
);
