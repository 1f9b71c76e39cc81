-- stackr: a sign-up with another password came for the user's address while it was not verified
-- yet. The stored password was chosen by someone who never proved the mailbox; when the address
-- is verified it is dropped and a reset link mailed there.
alter table "credential_epoch" add column if not exists "sign_up_contested" boolean not null default false;
