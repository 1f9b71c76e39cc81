-- stackr provisioning (docs/runtime-contract.md): which base services hold a record for a user.
-- Surfaced as has<Service>Account on every user object.
create table if not exists "service_account" (
  "user_id" text not null references "user" ("id") on delete cascade,
  "service" text not null,
  "created_at" timestamptz default CURRENT_TIMESTAMP not null,
  primary key ("user_id", "service")
);
