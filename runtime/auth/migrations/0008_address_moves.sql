-- stackr: how many times the user's email address has changed (by a change-email link or by an
-- admin). A change-email link is bound to it, so a link works only from the address as it was
-- when the link was sent, not again once the account is back at that address.
alter table "credential_epoch" add column if not exists "address_moves" bigint not null default 0;
