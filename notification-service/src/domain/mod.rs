//! Domain types: what an email for an event says. No actix, sqlx, NATS or SMTP here.

mod email;

pub use email::{EmailContent, compose, format_cents};
