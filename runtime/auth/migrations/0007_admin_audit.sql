-- stackr: every admin action (admin API or dashboard) as it was done: who, what, on whom, when and
-- from which address. No foreign keys: entries outlive the users they name, so emails are copied.
create table if not exists "admin_audit" (
  "id" bigserial primary key,
  "at" timestamptz default CURRENT_TIMESTAMP not null,
  "actor_id" text not null,
  "actor_email" text not null,
  "action" text not null,
  "target_id" text,
  "target_email" text,
  "detail" text not null default '',
  "ip" text not null
);
create index if not exists "admin_audit_at_idx" on "admin_audit" ("at");
