//! Background work started beside the server and stopped with it.

pub mod recovery;
pub mod relay;
