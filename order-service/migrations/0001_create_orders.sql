-- Orders owned by order-service. Each order keeps a snapshot of the user and the product as
-- they were when it was placed; money is integer cents and the total is checked exact.
CREATE TABLE orders (
    id               UUID        PRIMARY KEY,
    user_id          BIGINT      NOT NULL CHECK (user_id > 0),
    user_name        TEXT        NOT NULL,
    user_email       TEXT        NOT NULL,
    product_id       BIGINT      NOT NULL CHECK (product_id > 0),
    product_name     TEXT        NOT NULL,
    unit_price_cents BIGINT      NOT NULL CHECK (unit_price_cents >= 0),
    quantity         INTEGER     NOT NULL CHECK (quantity > 0),
    total_cents      BIGINT      NOT NULL CHECK (total_cents = unit_price_cents * quantity),
    status           TEXT        NOT NULL CHECK (status IN ('confirmed', 'cancelled')),
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    cancelled_at     TIMESTAMPTZ,
    CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL))
);

CREATE INDEX orders_user_id_created_at_idx ON orders (user_id, created_at DESC);
