//! Background work started beside the HTTP server and stopped by the same shutdown.

pub mod consumer;
