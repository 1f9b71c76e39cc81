-- stackr: a per-user counter bumped whenever all (or all other) of the user's sessions are revoked
-- (sign-out everywhere, ban, password reset, change-password revoking other sessions). Base
-- services stamp each credential they derive from a session (device sessions) with the epoch at
-- creation and refuse it once the epoch has moved on. No row means epoch 0.
create table if not exists "credential_epoch" (
  "user_id" text not null primary key references "user" ("id") on delete cascade,
  "epoch" bigint not null,
  "bumped_at" timestamptz default CURRENT_TIMESTAMP not null
);
