-- stackr: how many mails of one kind (reset links, verification links, change-email links) each
-- address was sent in the current window, so that no one, from however many client addresses,
-- can flood a mailbox through auth. The key is a SHA-256 digest of the kind and the normalised
-- address, so the addresses typed in are not stored. Rows of windows long over are deleted by
-- housekeeping.
create table if not exists "mail_budget" (
  "key" bytea primary key,
  "sent" integer not null,
  "window_start" timestamptz not null
);
create index if not exists "mail_budget_window_start_idx" on "mail_budget" ("window_start");
