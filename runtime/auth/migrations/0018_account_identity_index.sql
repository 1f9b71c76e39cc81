-- stackr: a social sign-in or link finds the account holding its identity by provider and
-- subject on every callback. BetterAuth's indexes lead with the user id, so this read every
-- user's accounts each time.
create index if not exists "account_provider_account_idx" on "account" ("providerId", "accountId");
