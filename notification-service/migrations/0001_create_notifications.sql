-- One row per event whose email the SMTP server accepted. The primary key is what makes the
-- service send nothing twice: the row is inserted in the transaction that is open while the
-- email is sent, and committed right after the server accepted it.
CREATE TABLE notifications (
    event_id       UUID PRIMARY KEY,
    event_type     TEXT NOT NULL CHECK (event_type IN ('order.created', 'order.cancelled')),
    order_id       UUID NOT NULL,
    recipient      TEXT NOT NULL,
    subject        TEXT NOT NULL,
    message_id     TEXT NOT NULL,
    correlation_id TEXT,
    sent_at        TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX notifications_order_id_sent_at ON notifications (order_id, sent_at);
CREATE INDEX notifications_sent_at ON notifications (sent_at);
