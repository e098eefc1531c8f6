//! A small HTTP client for black-box tests, and the error-envelope assertion.

use reqwest::{Client, Response};
use serde_json::Value;

/// The base address of a running service and a client to call it.
#[derive(Debug, Clone)]
pub struct Api {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The client the calls go through.
    pub client: Client,
}

impl Api {
    /// A client for the service listening on `port` of the loopback interface.
    pub fn on_port(port: u16) -> Self {
        crate::install_crypto_provider();
        Self {
            address: format!("http://127.0.0.1:{port}"),
            client: Client::new(),
        }
    }

    /// The port the service listens on.
    pub fn port(&self) -> u16 {
        self.address
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("the address ends with a port")
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("send GET")
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("send POST")
    }

    /// `PUT path` with a JSON body.
    pub async fn put_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .put(self.url(path))
            .json(body)
            .send()
            .await
            .expect("send PUT")
    }

    /// `POST path` with no body.
    pub async fn post_empty(&self, path: &str) -> Response {
        self.client
            .post(self.url(path))
            .send()
            .await
            .expect("send POST")
    }

    /// `POST path` with a raw body and content type, for malformed-input tests.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        self.client
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("send request")
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }
}

/// Asserts the status and that the body is the JSON error envelope; returns its `code`.
pub async fn assert_error(response: Response, status: u16) -> String {
    let actual = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.expect("read the error body");
    assert_eq!(actual, status, "unexpected status; body: {text}");
    assert!(
        content_type.starts_with("application/json"),
        "error body is {content_type}, not JSON: {text}"
    );
    let body: Value = serde_json::from_str(&text).expect("error body is JSON");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "error envelope has a message: {body}"
    );
    body["code"]
        .as_str()
        .expect("error envelope has a code")
        .to_owned()
}
