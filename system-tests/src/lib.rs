//! Test support for the container tests in `tests/`: the system in containers ([`system`])
//! and a closed-loop load generator ([`load`]).
//!
//! The tests start Postgres and the three service images (`shop/<service>:$SHOP_IMAGE_TAG`,
//! default `dev`, as `docker compose build` tags them) on a private Docker network. `containers`
//! checks the order flow, a provider going down and coming back, and an order-service restart;
//! `faults` kills, freezes and stops services under load and checks that nothing acknowledged
//! is lost and no stock is leaked.

pub mod load;
pub mod system;
