//! order-service: places orders against user-service and product-service, on port 5003.
//!
//! An order is placed by a small saga ([`placing`]): verify the user and the product, reserve
//! the stock, store the order; if storing fails the reservation is released. See `README.md`
//! in this folder for the API, its settings and the error codes.

pub mod clients;
pub mod configuration;
pub mod domain;
pub mod errors;
pub mod placing;
pub mod routes;
pub mod startup;
pub mod store;
