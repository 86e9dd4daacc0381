-- Tier ladders: one per program (its definition is JSON, validated by vafa-core), each
-- customer's tier state, and every change with its reason.

CREATE TABLE tier_ladders (
    program_id   TEXT PRIMARY KEY REFERENCES programs(id),
    definition   TEXT NOT NULL,
    updated_at   BIGINT NOT NULL
);

-- A customer without a row is in the ladder's first tier.
CREATE TABLE customer_tiers (
    program_id    TEXT NOT NULL,
    customer_id   TEXT NOT NULL REFERENCES customers(id),
    tier          TEXT NOT NULL,
    since         BIGINT NOT NULL,
    -- First evaluation that found the customer below their tier (the grace clock).
    below_since   BIGINT,
    -- A manual override holds the tier until then (no downgrade before it).
    pinned_until  BIGINT,
    PRIMARY KEY (program_id, customer_id)
);

CREATE TABLE tier_changes (
    id            TEXT PRIMARY KEY,
    program_id    TEXT NOT NULL,
    customer_id   TEXT NOT NULL,
    from_tier     TEXT,
    to_tier       TEXT NOT NULL,
    -- upgrade, downgrade or override
    kind          TEXT NOT NULL,
    reason        TEXT,
    qualifying    BIGINT NOT NULL,
    gift_points   BIGINT NOT NULL,
    entry_id      TEXT,
    actor         TEXT NOT NULL,
    at            BIGINT NOT NULL
);
CREATE INDEX tier_changes_customer_idx ON tier_changes (program_id, customer_id, at);
