-- A reservation records the product's name and unit price at the moment its stock was taken,
-- read in the same statement that takes the stock. The caller (order-service) prices the
-- order from the reservation, so the price it charges is the price the stock was held at,
-- and it needs no separate product lookup.
ALTER TABLE reservations
    ADD COLUMN product_name     TEXT,
    ADD COLUMN unit_price_cents BIGINT;

UPDATE reservations r
SET product_name = p.name, unit_price_cents = p.price_cents
FROM products p
WHERE p.id = r.product_id;

ALTER TABLE reservations
    ALTER COLUMN product_name SET NOT NULL,
    ALTER COLUMN unit_price_cents SET NOT NULL,
    ADD CHECK (unit_price_cents >= 0);
