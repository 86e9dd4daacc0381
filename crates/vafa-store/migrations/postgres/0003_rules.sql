-- Earning rules and campaigns: definitions with versions, per-customer usage for caps,
-- what each rule gave on each journal entry, and non-purchase events.

CREATE TABLE campaigns (
    id             TEXT PRIMARY KEY,
    program_id     TEXT NOT NULL REFERENCES programs(id),
    version        BIGINT NOT NULL,
    status         TEXT NOT NULL,
    definition     TEXT NOT NULL,
    budget_points  BIGINT,
    budget_used    BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX campaigns_program_idx ON campaigns (program_id, status);

-- The current version of each rule; rule_versions keeps every version ever written.
CREATE TABLE rules (
    id           TEXT PRIMARY KEY,
    program_id   TEXT NOT NULL REFERENCES programs(id),
    campaign_id  TEXT NOT NULL REFERENCES campaigns(id),
    version      BIGINT NOT NULL,
    active       BOOLEAN NOT NULL,
    definition   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX rules_campaign_idx ON rules (program_id, campaign_id);

CREATE TABLE rule_versions (
    rule_id     TEXT NOT NULL REFERENCES rules(id),
    version     BIGINT NOT NULL,
    active      BOOLEAN NOT NULL,
    definition  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor_id    TEXT,
    PRIMARY KEY (rule_id, version)
);

-- Times fired and points given per customer per cap period (keys such as d2026-11-23,
-- w2026-11-21, jm1405-09, jy1405, life).
CREATE TABLE campaign_usage (
    campaign_id  TEXT NOT NULL REFERENCES campaigns(id),
    customer_id  TEXT NOT NULL,
    period_key   TEXT NOT NULL,
    uses         BIGINT NOT NULL,
    points       BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, customer_id, period_key)
);

-- What each fired rule gave on a journal entry: the rule versions behind every entry.
CREATE TABLE rule_awards (
    entry_id       TEXT NOT NULL REFERENCES journal_entries(id),
    program_id     TEXT NOT NULL,
    purchase_id    TEXT,
    event_id       TEXT,
    campaign_id    TEXT NOT NULL,
    rule_id        TEXT NOT NULL,
    rule_version   BIGINT NOT NULL,
    points         BIGINT NOT NULL,
    cashback       BIGINT NOT NULL,
    awards         TEXT,
    occurred_at    BIGINT NOT NULL
);
CREATE INDEX rule_awards_entry_idx ON rule_awards (entry_id);
CREATE INDEX rule_awards_campaign_idx ON rule_awards (program_id, campaign_id, occurred_at);
CREATE INDEX rule_awards_purchase_idx ON rule_awards (purchase_id);

CREATE TABLE events (
    id           TEXT PRIMARY KEY,
    program_id   TEXT NOT NULL REFERENCES programs(id),
    customer_id  TEXT NOT NULL,
    name         TEXT NOT NULL,
    external_id  TEXT,
    attributes   TEXT NOT NULL,
    points       BIGINT NOT NULL,
    entry_id     TEXT,
    occurred_at  BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX events_external_id_uq ON events (program_id, external_id);
CREATE INDEX events_customer_idx ON events (program_id, customer_id, occurred_at);

-- Customer facts for rules: purchase count and last purchase before a moment.
CREATE INDEX IF NOT EXISTS purchases_customer_time_idx ON purchases (program_id, customer_id, occurred_at);
ALTER TABLE purchases ADD COLUMN coupons TEXT;
