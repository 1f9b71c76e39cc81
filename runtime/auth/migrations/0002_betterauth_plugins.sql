-- Columns and table of BetterAuth's twoFactor() and admin() plugins, as their migrations create them.
alter table "user" add column if not exists "twoFactorEnabled" boolean;
alter table "user" add column if not exists "role" text;
alter table "user" add column if not exists "banned" boolean;
alter table "user" add column if not exists "banReason" text;
alter table "user" add column if not exists "banExpires" timestamptz;
alter table "session" add column if not exists "impersonatedBy" text;
create table if not exists "twoFactor" (
  "id" text not null primary key,
  "secret" text not null,
  "backupCodes" text not null,
  "userId" text not null references "user" ("id") on delete cascade,
  "verified" boolean,
  "failedVerificationCount" integer,
  "lockedUntil" timestamptz
);
create index if not exists "twoFactor_secret_idx" on "twoFactor" ("secret");
create index if not exists "twoFactor_userId_idx" on "twoFactor" ("userId");
-- BetterAuth only recommends these; get-session and sign-in look rows up by them.
create index if not exists "account_provider_user_idx" on "account" ("userId", "providerId");
