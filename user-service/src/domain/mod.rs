//! Domain types: parsed, valid values. No actix, sqlx or reqwest here.

mod user;

pub use user::{Email, NewUser, UserId, UserName};
