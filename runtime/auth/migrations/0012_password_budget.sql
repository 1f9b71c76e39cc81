-- stackr: each account's (and known device's) budget of password attempts, in the database so
-- that every auth process on it draws on the same budget and a restart does not refill it. The key
-- is a SHA-256 digest of the budget's name (a normalised address, made up or not; a device), so
-- what a guesser types is not stored. Rows idle for a day are deleted by housekeeping.
create table if not exists "password_budget" (
  "key" bytea primary key,
  "attempts" integer not null,
  "last_attempt_at" timestamptz not null
);
create index if not exists "password_budget_last_attempt_at_idx" on "password_budget" ("last_attempt_at");
