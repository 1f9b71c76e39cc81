-- stackr: what the sign-in that opened a session proved, as the admin dashboard asks it. A row:
-- the session was opened with the user's password (a sign-in with it, or the sign-up that chose
-- it, or a session replacing one that was); `second_factor`: and with their second factor too.
-- No row: neither (a provider's sign-in, an impersonation, a session BetterAuth wrote). Written
-- in the transaction that writes the session, and gone with it. Sessions from before this table
-- existed have no row: admins with two-factor on sign in again to use the dashboard and the admin
-- API (docs/deploy.md, "Deploying a newer stackr").
create table if not exists "session_sign_in" (
  "session_id" text not null primary key references "session" ("id") on delete cascade,
  "second_factor" boolean not null
);
