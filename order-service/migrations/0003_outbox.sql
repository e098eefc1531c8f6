-- The transactional outbox: one row per event, written by the statement that makes the state
-- change it announces (so an event exists exactly when its change committed). The relay
-- claims rows in `seq` order (locked in its transaction, `SKIP LOCKED` for other replicas),
-- publishes them to JetStream, the event id as `Nats-Msg-Id`, and marks them published in the
-- same transaction once JetStream acknowledged them; published rows are pruned after a retention
-- period. The payload is rendered at publish time from the order's snapshot, which never
-- changes once the order is placed (only its status and cancellation time do, and those are
-- fixed by the event's type and `occurred_at`).
CREATE TABLE outbox (
    seq            BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id             UUID        NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    order_id       UUID        NOT NULL REFERENCES orders (id),
    type           TEXT        NOT NULL CHECK (type IN ('order.created', 'order.cancelled')),
    occurred_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    correlation_id TEXT,
    published_at   TIMESTAMPTZ
);

-- What the relay scans, and what it orders one order's events by.
CREATE INDEX outbox_unpublished_idx ON outbox (seq) WHERE published_at IS NULL;
CREATE INDEX outbox_unpublished_order_idx ON outbox (order_id, seq) WHERE published_at IS NULL;
-- What pruning scans.
CREATE INDEX outbox_published_at_idx ON outbox (published_at) WHERE published_at IS NOT NULL;
