-- Coupon batches (N unique single-use codes from a pattern, or one shared code), their
-- codes with a use count, and every use.

CREATE TABLE coupon_batches (
    id           TEXT PRIMARY KEY,
    program_id   TEXT NOT NULL REFERENCES programs(id),
    name         TEXT NOT NULL,
    -- unique or shared
    kind         TEXT NOT NULL,
    pattern      TEXT,
    rules        TEXT NOT NULL,
    requested    BIGINT NOT NULL,
    generated    BIGINT NOT NULL,
    -- generating, ready
    status       TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX coupon_batches_program_idx ON coupon_batches (program_id, id);

CREATE TABLE coupon_codes (
    program_id   TEXT NOT NULL,
    code         TEXT NOT NULL,
    batch_id     TEXT NOT NULL REFERENCES coupon_batches(id),
    uses         BIGINT NOT NULL,
    max_uses     BIGINT,
    PRIMARY KEY (program_id, code)
);
CREATE INDEX coupon_codes_batch_idx ON coupon_codes (batch_id, code);

CREATE TABLE coupon_uses (
    id             TEXT PRIMARY KEY,
    program_id     TEXT NOT NULL,
    code           TEXT NOT NULL,
    batch_id       TEXT NOT NULL,
    customer_id    TEXT NOT NULL,
    purchase_id    TEXT,
    discount_minor BIGINT NOT NULL,
    at             BIGINT NOT NULL
);
CREATE INDEX coupon_uses_customer_idx ON coupon_uses (program_id, batch_id, customer_id);
