//! The remote services this one talks to: the SMTP server ([`mailer`]) and NATS ([`broker`]).

pub mod broker;
pub mod mailer;

pub use broker::{Broker, BrokerError, DeadLetter};
pub use mailer::{MailError, Mailer};
