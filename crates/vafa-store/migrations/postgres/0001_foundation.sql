-- Programs, API keys, customers, cards and the audit log.
-- Times are BIGINT microseconds since the Unix epoch (UTC); calendar dates are
-- TEXT 'YYYY-MM-DD'. The PostgreSQL tree keeps the same version numbers.

CREATE TABLE programs (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    currency    TEXT NOT NULL,
    timezone    TEXT NOT NULL,
    locale      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id             TEXT PRIMARY KEY,
    program_id     TEXT NOT NULL REFERENCES programs(id),
    name           TEXT,
    role           TEXT NOT NULL,
    secret_sha256  TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    revoked_at     BIGINT
);
CREATE INDEX api_keys_program_idx ON api_keys (program_id, id);

CREATE TABLE customers (
    id             TEXT PRIMARY KEY,
    program_id     TEXT NOT NULL REFERENCES programs(id),
    status         TEXT NOT NULL,
    first_name     TEXT,
    last_name      TEXT,
    honorific      TEXT,
    mobile         TEXT,
    email          TEXT,
    birth_date     TEXT,
    marriage_date  TEXT,
    gender         TEXT,
    city           TEXT,
    occupation     TEXT,
    national_id    TEXT,
    external_id    TEXT,
    attributes     TEXT NOT NULL DEFAULT '{}',
    search_name    TEXT NOT NULL DEFAULT '',
    merged_into    TEXT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    erased_at      BIGINT
);
CREATE INDEX customers_program_idx ON customers (program_id, id);
CREATE UNIQUE INDEX customers_mobile_uq ON customers (program_id, mobile);
CREATE UNIQUE INDEX customers_external_id_uq ON customers (program_id, external_id);
CREATE UNIQUE INDEX customers_national_id_uq ON customers (program_id, national_id);

CREATE TABLE customer_tags (
    program_id   TEXT NOT NULL,
    customer_id  TEXT NOT NULL REFERENCES customers(id),
    tag          TEXT NOT NULL,
    PRIMARY KEY (customer_id, tag)
);
CREATE INDEX customer_tags_tag_idx ON customer_tags (program_id, tag);

CREATE TABLE customer_consents (
    program_id   TEXT NOT NULL,
    customer_id  TEXT NOT NULL REFERENCES customers(id),
    channel      TEXT NOT NULL,
    granted      BOOLEAN NOT NULL,
    at           BIGINT NOT NULL,
    source       TEXT NOT NULL,
    PRIMARY KEY (customer_id, channel)
);

CREATE TABLE cards (
    id             TEXT PRIMARY KEY,
    program_id     TEXT NOT NULL REFERENCES programs(id),
    number         TEXT NOT NULL,
    kind           TEXT NOT NULL,
    status         TEXT NOT NULL,
    customer_id    TEXT REFERENCES customers(id),
    issued_at      BIGINT NOT NULL,
    status_reason  TEXT,
    replaced_by    TEXT
);
CREATE UNIQUE INDEX cards_number_uq ON cards (program_id, number);
CREATE INDEX cards_customer_idx ON cards (program_id, customer_id);

CREATE TABLE card_events (
    id           TEXT PRIMARY KEY,
    program_id   TEXT NOT NULL,
    card_id      TEXT NOT NULL REFERENCES cards(id),
    at           BIGINT NOT NULL,
    event        TEXT NOT NULL,
    customer_id  TEXT,
    detail       TEXT,
    actor_id     TEXT
);
CREATE INDEX card_events_card_idx ON card_events (card_id, id);

CREATE TABLE audit_log (
    id           TEXT PRIMARY KEY,
    program_id   TEXT NOT NULL,
    at           BIGINT NOT NULL,
    actor_kind   TEXT NOT NULL,
    actor_id     TEXT,
    actor_role   TEXT,
    action       TEXT NOT NULL,
    target_type  TEXT NOT NULL,
    target_id    TEXT NOT NULL,
    summary      TEXT NOT NULL
);
CREATE INDEX audit_log_program_idx ON audit_log (program_id, id);
