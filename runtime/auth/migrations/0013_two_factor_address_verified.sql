-- stackr: whether the user's address was verified when this second factor was enrolled (at
-- `two-factor/enable`, and still when `verify-totp` turned it on). Anyone may sign up with
-- another's address and enrol an authenticator of their own before the owner proves the mailbox;
-- a password set through a reset link (the mailbox's owner) removes such a factor, which would
-- otherwise lock the owner out. One enrolled once the address was verified stays, to guard the
-- account against whoever takes the mailbox. Enrolments stored before this column existed (and
-- rows BetterAuth writes) count as verified: they are kept.
alter table "twoFactor" add column if not exists "enrolledAddressVerified" boolean not null default true;
