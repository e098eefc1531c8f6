//! A real SMTP listener for the tests (notification-service's, and the system tests'): speaks
//! enough SMTP for lettre, keeps every message it accepts, and can be told to refuse (451,
//! transient) or to answer `DATA` slowly. It listens on the loopback interface only.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// A message the sink accepted.
#[derive(Debug, Clone)]
pub struct Received {
    /// The envelope's recipients.
    pub rcpt_to: Vec<String>,
    /// The message as sent (headers and body), dot-unstuffed.
    pub data: String,
}

impl Received {
    /// The value of a header (first occurrence, unfolded), if present.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let mut lines = head.split("\r\n").peekable();
        while let Some(line) = lines.next() {
            if let Some((key, value)) = line.split_once(':')
                && key.eq_ignore_ascii_case(name)
            {
                let mut value = value.trim().to_owned();
                while let Some(next) = lines.peek().filter(|l| l.starts_with([' ', '\t'])) {
                    value.push(' ');
                    value.push_str(next.trim());
                    lines.next();
                }
                return Some(value);
            }
        }
        None
    }

    /// The body, with quoted-printable soft line breaks undone.
    pub fn body(&self) -> String {
        let body = self.data.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        body.replace("=\r\n", "").replace("=3D", "=")
    }
}

#[derive(Default)]
struct State {
    received: Mutex<Vec<Received>>,
    arrived: Notify,
    /// Refuse every transaction while set.
    refuse: AtomicBool,
    /// Refuse this many more transactions, then accept again.
    refuse_next: AtomicU32,
    /// Reject every recipient for good (550) while set.
    reject: AtomicBool,
    /// Milliseconds to wait before answering the end of `DATA`.
    data_delay_ms: AtomicU64,
    /// Transactions that reached `DATA` (accepted or not yet answered).
    data_started: AtomicU32,
}

/// The running listener; cloning shares it.
#[derive(Clone)]
pub struct SmtpSink {
    port: u16,
    state: Arc<State>,
}

impl SmtpSink {
    /// Listens on a random loopback port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind SMTP sink");
        let port = listener.local_addr().expect("local address").port();
        let state = Arc::new(State::default());
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, shared.clone()));
            }
        });
        Self { port, state }
    }

    /// The port to point `APP_SMTP_PORT` at.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Refuse (451) every transaction from now on, or accept again.
    pub fn refuse(&self, on: bool) {
        self.state.refuse.store(on, Ordering::SeqCst);
    }

    /// Reject (550, permanent) every recipient from now on, or accept again.
    pub fn reject(&self, on: bool) {
        self.state.reject.store(on, Ordering::SeqCst);
    }

    /// Refuse (451) the next `n` transactions.
    pub fn refuse_next(&self, n: u32) {
        self.state.refuse_next.store(n, Ordering::SeqCst);
    }

    /// Wait this long before answering the end of each message's `DATA`.
    pub fn delay_data(&self, delay: Duration) {
        self.state
            .data_delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// Transactions that got as far as sending their message.
    pub fn data_started(&self) -> u32 {
        self.state.data_started.load(Ordering::SeqCst)
    }

    /// Every message accepted so far, in order of acceptance.
    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().expect("sink lock").clone()
    }

    /// Waits until at least `n` messages were accepted, or panics after `limit`.
    pub async fn wait_for(&self, n: usize, limit: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let arrived = self.state.arrived.notified();
            let received = self.received();
            if received.len() >= n {
                return received;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!(
                    "the SMTP sink got {} messages within {limit:?}, expected {n}",
                    self.received().len()
                );
            }
        }
    }

    /// Waits `quiet` and returns what arrived: for asserting that nothing more comes.
    pub async fn settle(&self, quiet: Duration) -> Vec<Received> {
        tokio::time::sleep(quiet).await;
        self.received()
    }
}

async fn session(stream: TcpStream, state: Arc<State>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if !reply(&mut write, "220 sink ESMTP test listener\r\n").await {
        return;
    }
    let mut rcpt_to = Vec::new();
    let mut refused = false;
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end().to_owned();
        let verb = command
            .split([' ', ':'])
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let answer = match verb.as_str() {
            "EHLO" => "250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n".to_owned(),
            "HELO" => "250 sink\r\n".to_owned(),
            "MAIL" => {
                rcpt_to.clear();
                let take_one = state
                    .refuse_next
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                refused = take_one || state.refuse.load(Ordering::SeqCst);
                if refused {
                    "451 4.3.0 try again later\r\n".to_owned()
                } else {
                    "250 2.1.0 ok\r\n".to_owned()
                }
            }
            "RCPT" if refused => "503 5.5.1 no valid sender\r\n".to_owned(),
            "RCPT" if state.reject.load(Ordering::SeqCst) => {
                "550 5.1.1 mailbox unavailable\r\n".to_owned()
            }
            "RCPT" => {
                let address = command
                    .split_once(':')
                    .map(|(_, a)| a.trim().trim_start_matches('<').trim_end_matches('>'))
                    .unwrap_or_default();
                rcpt_to.push(address.to_owned());
                "250 2.1.5 ok\r\n".to_owned()
            }
            "DATA" if refused || rcpt_to.is_empty() => "503 5.5.1 no recipients\r\n".to_owned(),
            "DATA" => {
                if !reply(&mut write, "354 go ahead\r\n").await {
                    return;
                }
                state.data_started.fetch_add(1, Ordering::SeqCst);
                let mut data = String::new();
                loop {
                    line.clear();
                    match lines.read_line(&mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                let delay = state.data_delay_ms.load(Ordering::SeqCst);
                if delay > 0 {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                }
                // Accepted when the reply is written, as for a real server: a client that
                // dies before reading it has still had its message delivered.
                let accepted = Received {
                    rcpt_to: std::mem::take(&mut rcpt_to),
                    data: data.trim_end_matches("\r\n").to_owned() + "\r\n",
                };
                state.received.lock().expect("sink lock").push(accepted);
                state.arrived.notify_waiters();
                "250 2.0.0 accepted\r\n".to_owned()
            }
            "QUIT" => {
                let _ = reply(&mut write, "221 bye\r\n").await;
                return;
            }
            _ => "250 ok\r\n".to_owned(),
        };
        if !reply(&mut write, &answer).await {
            return;
        }
    }
}

async fn reply(write: &mut tokio::net::tcp::OwnedWriteHalf, text: &str) -> bool {
    write.write_all(text.as_bytes()).await.is_ok()
}
