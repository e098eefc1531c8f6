-- The order saga: an order is recorded as 'pending' (with its deadline) before any stock is
-- taken, and ends 'confirmed' or 'rejected' with a reason; a confirmed order is cancelled
-- through 'cancelling' (release still to be confirmed) to 'cancelled'. The user and product
-- snapshots are filled in when the order is confirmed. `release_due` marks an order whose
-- reservation must still be released (a rejected order whose reservation may exist, or a
-- cancelling one); the recovery worker retries those releases with backoff until they succeed.
ALTER TABLE orders
    ALTER COLUMN user_name DROP NOT NULL,
    ALTER COLUMN user_email DROP NOT NULL,
    ALTER COLUMN product_name DROP NOT NULL,
    ALTER COLUMN unit_price_cents DROP NOT NULL,
    ALTER COLUMN total_cents DROP NOT NULL,
    ADD COLUMN deadline          TIMESTAMPTZ,
    ADD COLUMN rejection_reason  TEXT,
    ADD COLUMN rejection_message TEXT,
    ADD COLUMN release_due       BOOLEAN     NOT NULL DEFAULT false,
    ADD COLUMN release_attempts  INTEGER     NOT NULL DEFAULT 0,
    ADD COLUMN next_attempt_at   TIMESTAMPTZ,
    ADD COLUMN updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    DROP CONSTRAINT orders_status_check,
    ADD CONSTRAINT orders_status_check
        CHECK (status IN ('pending', 'confirmed', 'rejected', 'cancelling', 'cancelled')),
    -- A placed order has both snapshots and its total.
    ADD CONSTRAINT orders_placed_snapshot_check
        CHECK (status NOT IN ('confirmed', 'cancelling', 'cancelled')
               OR (user_name IS NOT NULL AND user_email IS NOT NULL AND product_name IS NOT NULL
                   AND unit_price_cents IS NOT NULL AND total_cents IS NOT NULL)),
    ADD CONSTRAINT orders_rejection_check
        CHECK ((status = 'rejected') = (rejection_reason IS NOT NULL)),
    ADD CONSTRAINT orders_deadline_check CHECK (status <> 'pending' OR deadline IS NOT NULL),
    ADD CONSTRAINT orders_cancelling_check CHECK (status <> 'cancelling' OR release_due),
    ADD CONSTRAINT orders_release_due_check CHECK (NOT release_due OR next_attempt_at IS NOT NULL);

-- What the recovery worker scans: sagas still pending, and releases still due.
CREATE INDEX orders_pending_deadline_idx ON orders (deadline) WHERE status = 'pending';
CREATE INDEX orders_release_due_idx ON orders (next_attempt_at) WHERE release_due;
-- Rejected sagas are pruned after a retention period.
CREATE INDEX orders_rejected_updated_at_idx ON orders (updated_at) WHERE status = 'rejected';

-- Idempotency keys of POST /orders: each names the saga its request started, and is bound to
-- the request (its canonical fingerprint). The answer is the saga's outcome: a placed order is
-- answered as it was when confirmed; a final refusal (4xx) with its reason. A saga that ended
-- in a fault (5xx), or that was cut short, does not fix the key's answer: a repeat of the
-- request takes the key over with a new saga. Keys are pruned after a retention period (24 h
-- by default).
CREATE TABLE idempotency_keys (
    key        TEXT        PRIMARY KEY CHECK (char_length(key) BETWEEN 1 AND 255),
    request    TEXT        NOT NULL,
    order_id   UUID        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
CREATE INDEX idempotency_keys_order_id_idx ON idempotency_keys (order_id);
