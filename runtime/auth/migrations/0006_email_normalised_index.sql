-- Emails are stored normalised (NFC, lower case, trimmed) since this migration's release; rows
-- written before may not be. Lookups and the sign-up collision check also compare this normalised
-- form of the stored value, so a legacy row is found (and never duplicated) without being
-- rewritten. This index keeps that comparison from scanning the table.
create index if not exists "user_email_normalised_idx" on "user" (lower(normalize("email", NFC)));
