//! user-service's black-box API tests: the real application on a random port, a fresh
//! database in a real Postgres container. One binary; one file per area.

mod batching;
mod contract;
mod helpers;
mod operations;
mod users;
