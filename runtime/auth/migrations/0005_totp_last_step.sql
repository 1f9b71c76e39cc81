-- The last TOTP time step accepted for an enrolment: a code of that step or an earlier one is
-- refused, so an observed code cannot be replayed within its validity window.
alter table "twoFactor" add column if not exists "lastAcceptedStep" bigint;
