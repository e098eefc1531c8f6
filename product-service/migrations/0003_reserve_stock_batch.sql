-- Reserves stock for a batch of reservations in one statement (one round trip, one commit):
-- what product-service runs when several reservation requests arrive at once. Each item is
-- handled as the single-reservation statement handles it: stock is taken only if there is
-- enough and no reservation has the id yet, and the reservation records the product's name
-- and unit price read under the same row lock. Items that took nothing are not returned;
-- the caller then asks, item by item, why (existing reservation, no stock, no product).
--
-- Items are taken in product id order (arrival order within a product), so concurrent
-- batches lock product rows in the same order and cannot deadlock on them.
CREATE FUNCTION reserve_stock_batch(ids UUID[], product_ids BIGINT[], quantities INTEGER[])
RETURNS TABLE (
    item                      BIGINT,
    reservation_id            UUID,
    reserved_product_id       BIGINT,
    reserved_quantity         INTEGER,
    reserved_product_name     TEXT,
    reserved_unit_price_cents BIGINT,
    reservation_status        TEXT,
    reserved_at               TIMESTAMPTZ,
    reservation_released_at   TIMESTAMPTZ
)
LANGUAGE plpgsql AS $$
DECLARE
    wanted      RECORD;
    taken_name  TEXT;
    taken_price BIGINT;
BEGIN
    FOR wanted IN
        SELECT w.n, w.id, w.product_id, w.quantity
        FROM unnest(ids, product_ids, quantities) WITH ORDINALITY AS w (id, product_id, quantity, n)
        ORDER BY w.product_id, w.n
    LOOP
        UPDATE products p SET stock = p.stock - wanted.quantity
        WHERE p.id = wanted.product_id AND p.stock >= wanted.quantity
          AND NOT EXISTS (SELECT 1 FROM reservations r WHERE r.id = wanted.id)
        RETURNING p.name, p.price_cents INTO taken_name, taken_price;
        CONTINUE WHEN NOT FOUND;

        INSERT INTO reservations AS r
            (id, product_id, quantity, product_name, unit_price_cents, status)
        VALUES (wanted.id, wanted.product_id, wanted.quantity, taken_name, taken_price, 'reserved')
        ON CONFLICT ON CONSTRAINT reservations_pkey DO NOTHING
        RETURNING wanted.n, r.id, r.product_id, r.quantity, r.product_name, r.unit_price_cents,
                  r.status, r.created_at, r.released_at
        INTO item, reservation_id, reserved_product_id, reserved_quantity, reserved_product_name,
             reserved_unit_price_cents, reservation_status, reserved_at, reservation_released_at;
        IF NOT FOUND THEN
            -- A concurrent transaction reserved this id first: give back what was taken.
            UPDATE products p SET stock = p.stock + wanted.quantity WHERE p.id = wanted.product_id;
            CONTINUE;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;
