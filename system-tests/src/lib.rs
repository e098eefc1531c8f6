//! Container tests of the whole system live in `tests/containers/`; this crate has no code.
//!
//! They start Postgres and the three service images (`shop/<service>:$SHOP_IMAGE_TAG`, default
//! `dev`, as `docker compose build` tags them) on a private Docker network and check the order
//! flow, a provider going down and coming back, and an order-service restart.
