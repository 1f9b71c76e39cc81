-- stackr: whether the user's account moved to its address (by a change-email link or an admin)
-- and no password has been set through a reset link at that address since. The account's ways in
-- (its password, its provider identities, its second factor) were set up by whoever held it
-- before the address was proved, who need not be the address's owner: the owner follows a mail
-- that says only to make it the account's address. The reset that proves the address removes the
-- provider identities held then. Accounts moved before this column existed count so while their
-- password still counts as chosen before the address was proved.
alter table "credential_epoch" add column if not exists "address_moved_unproved" boolean not null default false;
update "credential_epoch" set "address_moved_unproved" = true
  where "address_moves" > 0 and "password_unproved" and not "address_moved_unproved";
