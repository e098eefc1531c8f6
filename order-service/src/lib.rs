//! order-service: places orders against user-service and product-service, on port 5003.
//!
//! An order is placed by a durable saga ([`saga`]): recorded as pending, the user verified,
//! the stock reserved, the order confirmed — within one deadline, every step idempotent. A
//! saga its request left unfinished is driven to its end by the recovery worker
//! ([`workers::recovery`]). Every call to another service goes through a bulkhead, retries and
//! a circuit breaker ([`clients::resilience`]). Confirming and cancelling an order write its
//! event to the outbox in the same statement; the relay ([`workers::relay`]) publishes it to
//! NATS JetStream ([`events`]). See `README.md` in this folder for the API,
//! its settings and the error codes.

pub mod clients;
pub mod configuration;
pub mod domain;
pub mod errors;
pub mod events;
pub mod routes;
pub mod saga;
pub mod startup;
pub mod store;
pub mod workers;
