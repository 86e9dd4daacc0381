-- The rewards catalog and the claims customers make on it: each claim spent points
-- through the journal and carries a unique code the counter consumes once.

CREATE TABLE rewards (
    id           TEXT PRIMARY KEY,
    program_id   TEXT NOT NULL REFERENCES programs(id),
    definition   TEXT NOT NULL,
    -- Units left (NULL: unlimited).
    stock_left   BIGINT,
    -- active or retired
    status       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX rewards_program_idx ON rewards (program_id, id);

CREATE TABLE reward_claims (
    id               TEXT PRIMARY KEY,
    program_id       TEXT NOT NULL,
    reward_id        TEXT NOT NULL REFERENCES rewards(id),
    customer_id      TEXT NOT NULL REFERENCES customers(id),
    code             TEXT NOT NULL,
    points           BIGINT NOT NULL,
    entry_id         TEXT NOT NULL,
    -- issued, used or cancelled
    status           TEXT NOT NULL,
    -- Physical gifts: pending, packed, shipped, delivered.
    fulfilment       TEXT,
    expires_at       BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    used_at          BIGINT,
    cancelled_at     BIGINT,
    cancel_reason    TEXT,
    refund_entry_id  TEXT
);
CREATE UNIQUE INDEX reward_claims_code_uq ON reward_claims (program_id, code);
CREATE INDEX reward_claims_customer_idx ON reward_claims (program_id, customer_id, created_at);
CREATE INDEX reward_claims_reward_idx ON reward_claims (reward_id, customer_id);
