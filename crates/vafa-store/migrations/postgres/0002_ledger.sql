-- The ledger: accounts, immutable journal entries and postings, point lots,
-- purchases with their lines and returns, and idempotency records.

CREATE TABLE program_settings (
    program_id  TEXT PRIMARY KEY REFERENCES programs(id),
    ledger      TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- Balances, debt and seq are derived from postings (vafa ledger verify recomputes them);
-- they are kept here so a write locks one row and reads need no sums.
CREATE TABLE accounts (
    id           TEXT PRIMARY KEY,
    program_id   TEXT NOT NULL REFERENCES programs(id),
    key          TEXT NOT NULL,
    kind         TEXT NOT NULL,
    customer_id  TEXT,
    unit         TEXT NOT NULL,
    balance      BIGINT NOT NULL,
    debt         BIGINT NOT NULL,
    seq          BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX accounts_key_uq ON accounts (program_id, key);
CREATE INDEX accounts_customer_idx ON accounts (program_id, customer_id);

CREATE TABLE journal_entries (
    id           TEXT PRIMARY KEY,
    program_id   TEXT NOT NULL REFERENCES programs(id),
    kind         TEXT NOT NULL,
    customer_id  TEXT,
    purchase_id  TEXT,
    at           BIGINT NOT NULL,
    explanation  TEXT NOT NULL,
    actor_kind   TEXT NOT NULL,
    actor_id     TEXT
);
CREATE INDEX journal_customer_idx ON journal_entries (program_id, customer_id, id);

CREATE TABLE postings (
    id             TEXT PRIMARY KEY,
    entry_id       TEXT NOT NULL REFERENCES journal_entries(id),
    program_id     TEXT NOT NULL,
    account_id     TEXT NOT NULL REFERENCES accounts(id),
    seq            BIGINT NOT NULL,
    unit           TEXT NOT NULL,
    amount         BIGINT NOT NULL,
    balance_after  BIGINT NOT NULL,
    lot_id         TEXT
);
CREATE UNIQUE INDEX postings_account_seq_uq ON postings (account_id, seq);
CREATE INDEX postings_entry_idx ON postings (entry_id);
CREATE INDEX postings_lot_idx ON postings (lot_id);

CREATE TABLE lots (
    id            TEXT PRIMARY KEY,
    program_id    TEXT NOT NULL,
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    entry_id      TEXT NOT NULL,
    purchase_id   TEXT,
    initial       BIGINT NOT NULL,
    remaining     BIGINT NOT NULL,
    available_at  BIGINT NOT NULL,
    expires_at    BIGINT
);
CREATE INDEX lots_account_idx ON lots (account_id, remaining);
CREATE INDEX lots_expiry_idx ON lots (program_id, expires_at);

CREATE TABLE purchases (
    id                 TEXT PRIMARY KEY,
    program_id         TEXT NOT NULL REFERENCES programs(id),
    customer_id        TEXT NOT NULL REFERENCES customers(id),
    card_number        TEXT,
    external_id        TEXT,
    store              TEXT,
    channel            TEXT,
    currency           TEXT NOT NULL,
    total_minor        BIGINT NOT NULL,
    returned_minor     BIGINT NOT NULL,
    points_earned      BIGINT NOT NULL,
    points_reversed    BIGINT NOT NULL,
    cashback_earned    BIGINT NOT NULL,
    cashback_reversed  BIGINT NOT NULL,
    lot_id             TEXT,
    entry_id           TEXT NOT NULL,
    occurred_at        BIGINT NOT NULL,
    created_at         BIGINT NOT NULL
);
CREATE UNIQUE INDEX purchases_external_id_uq ON purchases (program_id, external_id);
CREATE INDEX purchases_customer_idx ON purchases (program_id, customer_id, id);

CREATE TABLE purchase_lines (
    purchase_id        TEXT NOT NULL REFERENCES purchases(id),
    line_no            BIGINT NOT NULL,
    sku                TEXT,
    name               TEXT,
    category           TEXT,
    quantity           BIGINT NOT NULL,
    unit_price_minor   BIGINT NOT NULL,
    amount_minor       BIGINT NOT NULL,
    points             BIGINT NOT NULL,
    cashback           BIGINT NOT NULL,
    returned_quantity  BIGINT NOT NULL,
    PRIMARY KEY (purchase_id, line_no)
);

CREATE TABLE purchase_returns (
    id                 TEXT PRIMARY KEY,
    program_id         TEXT NOT NULL,
    purchase_id        TEXT NOT NULL REFERENCES purchases(id),
    amount_minor       BIGINT NOT NULL,
    points_reversed    BIGINT NOT NULL,
    cashback_reversed  BIGINT NOT NULL,
    entry_id           TEXT NOT NULL,
    at                 BIGINT NOT NULL
);
CREATE INDEX purchase_returns_purchase_idx ON purchase_returns (purchase_id);

-- The idempotency record is written in the same transaction as the effects.
CREATE TABLE idempotency_keys (
    program_id   TEXT NOT NULL,
    key          TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (program_id, key)
);
