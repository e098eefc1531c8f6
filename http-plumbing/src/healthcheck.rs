//! The `healthcheck` subcommand: lets a container health check run without curl in the image.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

/// If the process was started as `<binary> healthcheck`, probes `GET /health` and returns the
/// exit code to end with; otherwise `None` and the caller starts the service.
///
/// The port is `APP_PORT` if set, else `default_port`. Exit 0 when the service answers 200.
pub fn run_if_requested(default_port: u16) -> Option<ExitCode> {
    if std::env::args().nth(1).as_deref() != Some("healthcheck") {
        return None;
    }
    let port = std::env::var("APP_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(default_port);
    Some(match probe(port) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("healthcheck failed: {e}");
            ExitCode::FAILURE
        }
    })
}

fn probe(port: u16) -> Result<(), String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let timeout = Duration::from_secs(2);
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).map_err(|e| e.to_string())?;
    let status_line = String::from_utf8_lossy(&head);
    if status_line.ends_with(" 200") {
        Ok(())
    } else {
        Err(format!("unexpected response: {status_line}"))
    }
}
