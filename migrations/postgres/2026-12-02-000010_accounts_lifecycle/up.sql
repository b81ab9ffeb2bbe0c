-- Accounts lifecycle: tokens that end at once, and a login throttle shared by every node.
--
-- users.token_epoch is carried in every access and refresh token of the user; deactivation,
-- a change of role, region or organisation, and a password change or reset add one to it, and
-- a token of an older epoch is refused at once, on every node.
--
-- The hard lock (failed_logins, locked_until) gives way to progressive delays kept per
-- username, known or not (login_delays), and to failed-login budgets per network address
-- (login_addresses).

ALTER TABLE users ADD COLUMN token_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users DROP COLUMN failed_logins;
ALTER TABLE users DROP COLUMN locked_until;

ALTER TABLE refresh_tokens ADD COLUMN token_epoch INTEGER NOT NULL DEFAULT 0;
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

-- A leaky bucket per address: `spent` failed logins, draining evenly over fifteen minutes.
CREATE TABLE login_addresses (
    address TEXT PRIMARY KEY NOT NULL,
    spent DOUBLE PRECISION NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX login_addresses_updated_idx ON login_addresses (updated_at);

-- Delays per username (a SHA-256 digest of the name as typed, so a password typed into the
-- name field is not kept): `address` is '' for the name everywhere, or an address the account
-- has signed in from, which then has a gate of its own until `trusted_until`.
CREATE TABLE login_delays (
    name_digest TEXT NOT NULL,
    address TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    blocked_until TIMESTAMP,
    trusted_until TIMESTAMP,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (name_digest, address)
);
CREATE INDEX login_delays_updated_idx ON login_delays (updated_at);
