-- stackr: sessions are found by their impersonator as well as by their user: ending a user's
-- sessions (sign-out everywhere, a password reset, a ban) takes those they impersonate too, and
-- an admin's impersonations are counted against their bound at each new one. Without an index
-- each of these read the whole session table. Only impersonations have the column set.
create index if not exists "session_impersonatedBy_idx" on "session" ("impersonatedBy")
  where "impersonatedBy" is not null;
