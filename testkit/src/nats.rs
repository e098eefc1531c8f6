//! Real NATS servers (JetStream on) in containers: one shared per test binary, or a dedicated one
//! a test may stop and start again.
//!
//! The first call to [`url`] in a test binary starts a NATS container through testcontainers and
//! every later call returns the same client URL; the container is removed when the binary exits.
//! Tests sharing it keep apart by naming their own streams, subjects and consumers.
//! [`NatsServer::start`] gives a test a server of its own, on a fixed host port so that clients
//! reconnect to it after [`NatsServer::stop`] and [`NatsServer::restart`] (a broker outage).
//!
//! The image is [`DEFAULT_IMAGE`] (pulled where a registry is reachable) unless [`IMAGE_ENV`]
//! names another `name:tag`, such as `shop-local/nats:2.15.1` from `docker/offline-images.sh`.
//! Both take the server's arguments (`-js …`) as the container command. Without a Docker engine
//! every test that needs NATS fails, loudly: there is no skip.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use testcontainers_modules::testcontainers::core::{ContainerPort, WaitFor};
use testcontainers_modules::testcontainers::runners::SyncRunner;
use testcontainers_modules::testcontainers::{Container, GenericImage, ImageExt};

/// Environment variable naming the NATS image (`name:tag`) the tests start.
pub const IMAGE_ENV: &str = "NATS_TEST_IMAGE";
/// Image used when [`IMAGE_ENV`] is not set.
pub const DEFAULT_IMAGE: &str = "nats:2.15-alpine";
/// The client port inside the container.
const CLIENT_PORT: u16 = 4222;

/// The NATS image the tests use, as (name, tag): [`IMAGE_ENV`] or [`DEFAULT_IMAGE`].
pub fn image() -> (String, String) {
    let spec = std::env::var(IMAGE_ENV).unwrap_or_else(|_| DEFAULT_IMAGE.to_owned());
    match spec.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name.to_owned(), tag.to_owned()),
        _ => (spec, "latest".to_owned()),
    }
}

/// A NATS server in a container.
pub struct NatsServer {
    container: Mutex<Option<Container<GenericImage>>>,
    url: String,
}

impl std::fmt::Debug for NatsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsServer")
            .field("url", &self.url)
            .finish()
    }
}

/// Runs `f` on a plain thread: the sync runner owns a runtime of its own, which cannot be used
/// from inside an async test's runtime.
fn off_runtime<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(f)
        .join()
        .unwrap_or_else(|_| panic!("testkit: a thread driving the NATS container panicked"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

impl NatsServer {
    /// Starts a dedicated server on a fixed, free host port. Panics, saying why, without Docker.
    pub fn start() -> Self {
        Self::start_on(Some(free_port()))
    }

    fn start_on(host_port: Option<u16>) -> Self {
        let (name, tag) = image();
        let started = off_runtime(move || {
            let image = GenericImage::new(name.clone(), tag.clone())
                .with_exposed_port(ContainerPort::Tcp(CLIENT_PORT))
                .with_wait_for(WaitFor::message_on_stderr("Server is ready"));
            let mut request = image
                .with_cmd(["-js", "-sd", "/tmp/jetstream"])
                .with_startup_timeout(Duration::from_secs(60));
            if let Some(port) = host_port {
                request = request.with_mapped_port(port, ContainerPort::Tcp(CLIENT_PORT));
            }
            let container = request.start().map_err(|e| format!("{name}:{tag}: {e}"))?;
            let host = container.get_host().map_err(|e| e.to_string())?.to_string();
            let port = container
                .get_host_port_ipv4(CLIENT_PORT)
                .map_err(|e| e.to_string())?;
            Ok::<_, String>((container, format!("nats://{host}:{port}")))
        });
        match started {
            Ok((container, url)) => Self {
                container: Mutex::new(Some(container)),
                url,
            },
            Err(e) => panic!(
                "testkit could not start a NATS container ({e}).\n\
                 These tests need a running Docker engine. On a machine that cannot pull images, \
                 build one with `docker/offline-images.sh nats` and set {IMAGE_ENV} to its name:tag."
            ),
        }
    }

    /// The client URL, `nats://<host>:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn with_container(
        &self,
        what: &'static str,
        f: fn(&Container<GenericImage>) -> Result<(), String>,
    ) {
        let container = self
            .container
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .expect("the container is there");
        let (container, result) = off_runtime(move || {
            let result = f(&container);
            (container, result)
        });
        *self.container.lock().unwrap_or_else(|p| p.into_inner()) = Some(container);
        if let Err(e) = result {
            panic!("testkit: could not {what} the NATS container: {e}");
        }
    }

    /// Stops the server (SIGTERM, then SIGKILL after 2 s): clients lose their connection.
    pub fn stop(&self) {
        self.with_container("stop", |c| {
            c.stop_with_timeout(Some(2)).map_err(|e| e.to_string())
        });
    }

    /// Starts the stopped server again on the same host port; its JetStream data is kept.
    pub fn restart(&self) {
        self.with_container("start", |c| c.start().map_err(|e| e.to_string()));
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(container) = self
            .container
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            off_runtime(move || drop(container));
        }
    }
}

static SHARED: OnceLock<NatsServer> = OnceLock::new();

/// The client URL of this test binary's shared NATS server, started on first use.
pub fn url() -> String {
    SHARED
        .get_or_init(|| NatsServer::start_on(None))
        .url()
        .to_owned()
}

// Statics are never dropped, so the shared container is removed explicitly at exit.
#[allow(unsafe_code)]
#[dtor::dtor(unsafe)]
fn remove_container() {
    if let Some(server) = SHARED.get()
        && let Ok(mut slot) = server.container.lock()
    {
        drop(slot.take());
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader};
    use std::net::TcpStream;

    use super::NatsServer;

    /// The server's greeting line (`INFO {...}`), or the connection error.
    fn greeting(url: &str) -> Result<String, String> {
        let address = url.trim_start_matches("nats://");
        let stream = TcpStream::connect(address).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .map_err(|e| e.to_string())?;
        let mut line = String::new();
        BufReader::new(stream)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        Ok(line)
    }

    #[test]
    fn a_dedicated_server_keeps_its_address_across_stop_and_restart() {
        let server = NatsServer::start();
        let info = greeting(server.url()).expect("the server answers");
        assert!(info.starts_with("INFO "), "{info}");
        assert!(
            info.contains("\"jetstream\":true"),
            "JetStream is on: {info}"
        );
        server.stop();
        assert!(
            greeting(server.url()).is_err(),
            "a stopped server answers nothing"
        );
        server.restart();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while greeting(server.url()).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "no answer after restart"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}
