//! order-service's black-box API tests: the real application on a random port, a fresh
//! database in a real Postgres container, and user-service and product-service faked by
//! wiremock HTTP servers. One binary; one file per area.

mod asyncapi;
mod batching;
mod cancelling;
mod events;
mod helpers;
mod idempotency;
mod message_contract;
mod operations;
mod placing;
mod relay_crash;
mod resilience;
