-- Releasing a reservation id that holds nothing leaves a tombstone: a row with status 'void'
-- and no terms. A reservation under that id arriving later (a request that was still on the
-- wire when its caller gave up and released) then finds the id taken and takes no stock.
-- Tombstones live in the reservations table itself, so the primary key settles a release
-- racing a reservation for the same id: exactly one of them inserts the row.
ALTER TABLE reservations
    ALTER COLUMN product_id DROP NOT NULL,
    ALTER COLUMN quantity DROP NOT NULL,
    ALTER COLUMN product_name DROP NOT NULL,
    ALTER COLUMN unit_price_cents DROP NOT NULL,
    DROP CONSTRAINT reservations_status_check,
    DROP CONSTRAINT reservations_check,
    ADD CONSTRAINT reservations_status_check
        CHECK (status IN ('reserved', 'released', 'void')),
    ADD CONSTRAINT reservations_released_at_check
        CHECK ((status IN ('released', 'void')) = (released_at IS NOT NULL)),
    -- A void id has no terms; every other reservation has all of them.
    ADD CONSTRAINT reservations_terms_check
        CHECK ((status = 'void') = (product_id IS NULL)
           AND (product_id IS NULL) = (quantity IS NULL)
           AND (product_id IS NULL) = (product_name IS NULL)
           AND (product_id IS NULL) = (unit_price_cents IS NULL));
