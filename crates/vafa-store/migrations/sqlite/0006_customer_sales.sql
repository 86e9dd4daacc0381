-- A running summary of each customer's purchases (count, revenue net of returns, first
-- and last purchase), kept by triggers in the same transaction as every purchase and
-- return, so analytics over the whole history read one row per customer instead of
-- grouping every purchase.

CREATE TABLE customer_sales (
    program_id   TEXT NOT NULL,
    customer_id  TEXT NOT NULL,
    purchases    INTEGER NOT NULL,
    net_minor    INTEGER NOT NULL,
    first_at     INTEGER NOT NULL,
    last_at      INTEGER NOT NULL,
    PRIMARY KEY (program_id, customer_id)
) WITHOUT ROWID;

INSERT INTO customer_sales (program_id, customer_id, purchases, net_minor, first_at, last_at)
SELECT program_id, customer_id, COUNT(*), SUM(total_minor - returned_minor), MIN(occurred_at), MAX(occurred_at)
FROM purchases GROUP BY program_id, customer_id;

CREATE TRIGGER purchases_sales_insert AFTER INSERT ON purchases BEGIN
    INSERT INTO customer_sales (program_id, customer_id, purchases, net_minor, first_at, last_at)
    VALUES (NEW.program_id, NEW.customer_id, 1, NEW.total_minor - NEW.returned_minor, NEW.occurred_at, NEW.occurred_at)
    ON CONFLICT (program_id, customer_id) DO UPDATE SET
        purchases = purchases + 1,
        net_minor = net_minor + excluded.net_minor,
        first_at = MIN(first_at, excluded.first_at),
        last_at = MAX(last_at, excluded.last_at);
END;

-- Returns change returned_minor; nothing else about a purchase changes after it is made.
CREATE TRIGGER purchases_sales_update AFTER UPDATE OF total_minor, returned_minor ON purchases BEGIN
    UPDATE customer_sales
    SET net_minor = net_minor + (NEW.total_minor - NEW.returned_minor) - (OLD.total_minor - OLD.returned_minor)
    WHERE program_id = NEW.program_id AND customer_id = NEW.customer_id;
END;

-- Periods (KPIs, and whether a window covers the whole history) read purchases by time.
CREATE INDEX purchases_time_idx ON purchases (program_id, occurred_at);
