-- A running summary of each customer's purchases (count, revenue net of returns, first
-- and last purchase), kept by a trigger in the same transaction as every purchase and
-- return, so analytics over the whole history read one row per customer instead of
-- grouping every purchase.

CREATE TABLE customer_sales (
    program_id   TEXT NOT NULL,
    customer_id  TEXT NOT NULL,
    purchases    BIGINT NOT NULL,
    net_minor    BIGINT NOT NULL,
    first_at     BIGINT NOT NULL,
    last_at      BIGINT NOT NULL,
    PRIMARY KEY (program_id, customer_id)
);

INSERT INTO customer_sales (program_id, customer_id, purchases, net_minor, first_at, last_at)
SELECT program_id, customer_id, COUNT(*), SUM(total_minor - returned_minor), MIN(occurred_at), MAX(occurred_at)
FROM purchases GROUP BY program_id, customer_id;

CREATE FUNCTION customer_sales_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO customer_sales (program_id, customer_id, purchases, net_minor, first_at, last_at)
        VALUES (NEW.program_id, NEW.customer_id, 1, NEW.total_minor - NEW.returned_minor, NEW.occurred_at, NEW.occurred_at)
        ON CONFLICT (program_id, customer_id) DO UPDATE SET
            purchases = customer_sales.purchases + 1,
            net_minor = customer_sales.net_minor + EXCLUDED.net_minor,
            first_at = LEAST(customer_sales.first_at, EXCLUDED.first_at),
            last_at = GREATEST(customer_sales.last_at, EXCLUDED.last_at);
    ELSE
        -- Returns change returned_minor; nothing else about a purchase changes later.
        UPDATE customer_sales
        SET net_minor = net_minor + (NEW.total_minor - NEW.returned_minor) - (OLD.total_minor - OLD.returned_minor)
        WHERE program_id = NEW.program_id AND customer_id = NEW.customer_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER purchases_sales AFTER INSERT OR UPDATE OF total_minor, returned_minor ON purchases
    FOR EACH ROW EXECUTE FUNCTION customer_sales_track();

-- Periods (KPIs, and whether a window covers the whole history) read purchases by time.
CREATE INDEX purchases_time_idx ON purchases (program_id, occurred_at);
