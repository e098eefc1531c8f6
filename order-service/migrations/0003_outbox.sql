-- The transactional outbox: one row per event, written by the statement that makes the state
-- change it announces (so an event exists exactly when its change committed). The relay
-- (one replica at a time, by a transaction-scoped advisory lock) reads rows in `seq` order,
-- publishes them to JetStream, the event id as `Nats-Msg-Id`, and marks them published in the
-- same transaction once JetStream acknowledged them; published rows are pruned after a retention
-- period. The payload is rendered at publish time from the order's snapshot, which never
-- changes once the order is placed (only its status and cancellation time do, and those are
-- fixed by the event's type and `occurred_at`).
CREATE TABLE outbox (
    seq            BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The CloudEvents id and Nats-Msg-Id: a random UUID, so no unique index is kept for it.
    id             UUID        NOT NULL DEFAULT gen_random_uuid(),
    -- No foreign key: the row is written by the very statement that changes its order, and
    -- placed orders are never deleted; a key check would cost a lookup and a row lock per
    -- event on the order path (BENCHMARKS.md).
    order_id       UUID        NOT NULL,
    type           TEXT        NOT NULL CHECK (type IN ('order.created', 'order.cancelled')),
    occurred_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    correlation_id TEXT,
    published_at   TIMESTAMPTZ
);

-- What the relay scans: the unpublished events in outbox order. (One order's events are kept in
-- order within each batch the relay takes, which needs no index of its own; pruning walks the
-- primary key from the oldest rows.)
CREATE INDEX outbox_unpublished_idx ON outbox (seq) WHERE published_at IS NULL;
