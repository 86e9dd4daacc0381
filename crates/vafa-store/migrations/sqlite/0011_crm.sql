-- The CRM: staff users and their sessions, interactions, tasks and promises, tickets
-- with business-hours SLA, feedback, orders, and the one outbox every notification
-- goes through (docs/crm.md).

-- People who sign in and whose work the CRM records. A username is unique across
-- the installation: the login form asks for nothing else.
CREATE TABLE staff (
    id             TEXT PRIMARY KEY,
    program_id     TEXT NOT NULL REFERENCES programs(id),
    username       TEXT NOT NULL,
    name           TEXT NOT NULL,
    role           TEXT NOT NULL,
    -- argon2id, PHC string format.
    password_hash  TEXT NOT NULL,
    -- active or disabled
    status         TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    last_login_at  INTEGER,
    -- The admin UI's language for this member (fa or en); null: the program's.
    locale         TEXT
);
CREATE UNIQUE INDEX staff_username_uq ON staff (username);
CREATE INDEX staff_program_idx ON staff (program_id, id);

-- Sign-in sessions; the secret is stored only as SHA-256, like API keys.
CREATE TABLE staff_sessions (
    id             TEXT PRIMARY KEY,
    staff_id       TEXT NOT NULL REFERENCES staff(id),
    program_id     TEXT NOT NULL,
    secret_sha256  TEXT NOT NULL,
    csrf_token     TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    ended_at       INTEGER
);
CREATE INDEX staff_sessions_staff_idx ON staff_sessions (staff_id);

-- Working week, SLA targets and limits, as JSON (vafa_core::crm).
CREATE TABLE crm_settings (
    program_id  TEXT PRIMARY KEY REFERENCES programs(id),
    settings    TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE holidays (
    program_id  TEXT NOT NULL REFERENCES programs(id),
    -- YYYY-MM-DD (Gregorian, in the program's zone)
    day         TEXT NOT NULL,
    name        TEXT NOT NULL,
    PRIMARY KEY (program_id, day)
);

-- A program's own wording of a built-in reply template.
CREATE TABLE reply_templates (
    program_id  TEXT NOT NULL REFERENCES programs(id),
    key         TEXT NOT NULL,
    fa          TEXT NOT NULL,
    en          TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (program_id, key)
);

CREATE TABLE interactions (
    id           TEXT PRIMARY KEY,
    program_id   TEXT NOT NULL REFERENCES programs(id),
    customer_id  TEXT NOT NULL REFERENCES customers(id),
    kind         TEXT NOT NULL,
    direction    TEXT NOT NULL,
    outcome      TEXT,
    summary      TEXT,
    staff_id     TEXT,
    ticket_id    TEXT,
    order_id     TEXT,
    campaign_id  TEXT,
    occurred_at  INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX interactions_customer_idx ON interactions (program_id, customer_id, occurred_at);
CREATE INDEX interactions_staff_idx ON interactions (program_id, staff_id, occurred_at);

CREATE TABLE tasks (
    id           TEXT PRIMARY KEY,
    program_id   TEXT NOT NULL REFERENCES programs(id),
    customer_id  TEXT REFERENCES customers(id),
    -- task or promise
    kind         TEXT NOT NULL,
    title        TEXT NOT NULL,
    notes        TEXT,
    assignee_id  TEXT,
    ticket_id    TEXT,
    due_at       INTEGER NOT NULL,
    remind_at    INTEGER,
    -- open, done, kept, missed, cancelled
    status       TEXT NOT NULL,
    created_by   TEXT,
    created_at   INTEGER NOT NULL,
    closed_at    INTEGER,
    closed_by    TEXT,
    close_note   TEXT
);
CREATE INDEX tasks_due_idx ON tasks (program_id, status, due_at);
CREATE INDEX tasks_customer_idx ON tasks (program_id, customer_id, created_at);

CREATE TABLE tickets (
    id                  TEXT PRIMARY KEY,
    program_id          TEXT NOT NULL REFERENCES programs(id),
    -- Shown to people as T-<number>; counts up per program.
    number              INTEGER NOT NULL,
    customer_id         TEXT NOT NULL REFERENCES customers(id),
    subject             TEXT NOT NULL,
    category            TEXT NOT NULL,
    priority            TEXT NOT NULL,
    channel             TEXT NOT NULL,
    status              TEXT NOT NULL,
    assignee_id         TEXT,
    created_by          TEXT,
    purchase_id         TEXT,
    opened_at           INTEGER NOT NULL,
    first_response_due  INTEGER NOT NULL,
    resolution_due      INTEGER NOT NULL,
    first_response_at   INTEGER,
    -- While waiting on the customer the resolution clock stops.
    paused_at           INTEGER,
    resolved_at         INTEGER,
    resolved_by         TEXT,
    closed_at           INTEGER,
    goodwill_points     INTEGER NOT NULL,
    goodwill_entry_id   TEXT,
    updated_at          INTEGER NOT NULL
);
CREATE UNIQUE INDEX tickets_number_uq ON tickets (program_id, number);
CREATE INDEX tickets_status_idx ON tickets (program_id, status, resolution_due);
CREATE INDEX tickets_customer_idx ON tickets (program_id, customer_id, opened_at);

-- Everything that happened to a ticket: opened, replies, notes, status changes.
CREATE TABLE ticket_events (
    id            TEXT PRIMARY KEY,
    ticket_id     TEXT NOT NULL REFERENCES tickets(id),
    program_id    TEXT NOT NULL,
    customer_id   TEXT NOT NULL,
    kind          TEXT NOT NULL,
    from_status   TEXT,
    to_status     TEXT,
    body          TEXT,
    template_key  TEXT,
    staff_id      TEXT,
    at            INTEGER NOT NULL
);
CREATE INDEX ticket_events_ticket_idx ON ticket_events (ticket_id, at);
CREATE INDEX ticket_events_customer_idx ON ticket_events (program_id, customer_id, at);
CREATE INDEX ticket_events_staff_idx ON ticket_events (program_id, staff_id, at);

-- NPS and CSAT answers, and the token links that ask for them.
CREATE TABLE feedback (
    id            TEXT PRIMARY KEY,
    program_id    TEXT NOT NULL REFERENCES programs(id),
    customer_id   TEXT REFERENCES customers(id),
    kind          TEXT NOT NULL,
    score         INTEGER,
    comment       TEXT,
    purchase_id   TEXT,
    ticket_id     TEXT,
    staff_id      TEXT,
    token         TEXT,
    locale        TEXT NOT NULL,
    -- requested or answered
    status        TEXT NOT NULL,
    expires_at    INTEGER,
    answered_at   INTEGER,
    created_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX feedback_token_uq ON feedback (token);
CREATE INDEX feedback_customer_idx ON feedback (program_id, customer_id, created_at);
CREATE INDEX feedback_answered_idx ON feedback (program_id, status, answered_at);

CREATE TABLE orders (
    id           TEXT PRIMARY KEY,
    program_id   TEXT NOT NULL REFERENCES programs(id),
    customer_id  TEXT NOT NULL REFERENCES customers(id),
    external_id  TEXT,
    stage        TEXT NOT NULL,
    summary      TEXT,
    total_minor  INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX orders_external_id_uq ON orders (program_id, external_id);
CREATE INDEX orders_customer_idx ON orders (program_id, customer_id, created_at);

CREATE TABLE order_events (
    id           TEXT PRIMARY KEY,
    order_id     TEXT NOT NULL REFERENCES orders(id),
    program_id   TEXT NOT NULL,
    customer_id  TEXT NOT NULL,
    stage        TEXT NOT NULL,
    note         TEXT,
    staff_id     TEXT,
    at           INTEGER NOT NULL
);
CREATE INDEX order_events_order_idx ON order_events (order_id, at);
CREATE INDEX order_events_customer_idx ON order_events (program_id, customer_id, at);

CREATE TABLE webhooks (
    id          TEXT PRIMARY KEY,
    program_id  TEXT NOT NULL REFERENCES programs(id),
    url         TEXT NOT NULL,
    secret      TEXT NOT NULL,
    -- JSON list of event names; empty: every event.
    events      TEXT NOT NULL,
    -- active or disabled
    status      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX webhooks_program_idx ON webhooks (program_id, status);

-- Every notification, written in the transaction of the change it reports; one row
-- per destination ('log' or a webhook id). Delivered at least once by the worker.
CREATE TABLE outbox (
    id            TEXT PRIMARY KEY,
    program_id    TEXT NOT NULL REFERENCES programs(id),
    event         TEXT NOT NULL,
    customer_id   TEXT,
    subject_type  TEXT NOT NULL,
    subject_id    TEXT NOT NULL,
    destination   TEXT NOT NULL,
    payload       TEXT NOT NULL,
    -- pending, delivered, dead or cancelled
    status        TEXT NOT NULL,
    attempts      INTEGER NOT NULL,
    available_at  INTEGER NOT NULL,
    leased_until  INTEGER,
    -- Who holds the lease: a worker's completion counts only while it still does.
    lease_id      TEXT,
    last_error    TEXT,
    created_at    INTEGER NOT NULL,
    delivered_at  INTEGER
);
CREATE INDEX outbox_due_idx ON outbox (status, available_at);
CREATE INDEX outbox_program_idx ON outbox (program_id, status, id);
CREATE INDEX outbox_subject_idx ON outbox (subject_type, subject_id);
