-- stackr: whether the user's password was chosen by someone who had not proved the mailbox (a
-- sign-up: anyone may sign up with another's address, and keep the session it gives). A provider
-- identity is then not linked to the user by its address: the owner of the address would sign in
-- to an account whose password, and sessions, may be a stranger's. Cleared when a password is set
-- through a reset link. Passwords stored before this column existed may have been chosen so too,
-- unless set through a reset link.
alter table "credential_epoch" add column if not exists "password_unproved" boolean not null default false;
insert into "credential_epoch" as e ("user_id", "epoch", "password_unproved")
  select "userId", 0, true from "account" where "providerId" = 'credential' and "password" is not null
  on conflict ("user_id") do update set "password_unproved" = not e."password_by_mail";
