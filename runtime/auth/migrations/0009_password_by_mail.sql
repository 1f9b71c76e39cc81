-- stackr: whether the user's password was last set through a reset link (which only proves the
-- mailbox). While it was, a one-time code by mail is no second factor: the same mailbox would
-- be both factors. Cleared by a sign-in with the authenticator or a backup code, and by a
-- password set otherwise.
alter table "credential_epoch" add column if not exists "password_by_mail" boolean not null default false;
