//! notification-service's black-box tests: the real application on a random port, a fresh
//! database in a real Postgres container, its own streams on a real NATS server (one container
//! per binary), and a real SMTP listener. One binary; one file per area.

mod consuming;
mod dead_letters;
mod helpers;
mod notifications;
mod operations;
mod process;
