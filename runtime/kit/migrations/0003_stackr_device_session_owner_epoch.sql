-- stackr-kit: the owner's credential epoch (auth's user-status answer) when the device session was
-- created. Auth moves the epoch on when the owner's sessions are revoked wholesale (sign-out
-- everywhere, ban, password reset); a device session from an older epoch is refused. Rows that
-- predate this column count as epoch 0, so they die at the owner's first revocation.
ALTER TABLE stackr_device_session ADD COLUMN owner_epoch bigint NOT NULL DEFAULT 0;
