//! Correlation IDs: accepted from or added to every request, echoed on every response.

use std::future::{Ready, ready};

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest};
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;

/// The header carrying the correlation ID, inbound and outbound.
pub const CORRELATION_ID_HEADER: &str = "x-correlation-id";

/// Longest correlation ID accepted from a client; a longer or malformed one is replaced.
const MAX_LEN: usize = 128;

/// The correlation ID of the request being served.
///
/// Extract it in a handler to forward it on outbound calls. It is always present once
/// [`correlation_middleware`] runs; without the middleware a fresh one is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrelationId(String);

impl CorrelationId {
    /// Makes a new random correlation ID (a UUID v4 in its hyphenated form).
    pub fn new_random() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    /// Accepts a client-supplied ID: 1 to 128 visible ASCII characters, else `None`.
    pub fn parse(raw: &str) -> Option<Self> {
        let ok =
            !raw.is_empty() && raw.len() <= MAX_LEN && raw.bytes().all(|b| b.is_ascii_graphic());
        ok.then(|| Self(raw.to_owned()))
    }

    /// The ID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CorrelationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromRequest for CorrelationId {
    type Error = Error;
    type Future = Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = req.extensions().get::<CorrelationId>().cloned();
        ready(Ok(id.unwrap_or_else(CorrelationId::new_random)))
    }
}

fn from_headers(req: &ServiceRequest) -> CorrelationId {
    req.headers()
        .get(CORRELATION_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(CorrelationId::parse)
        .unwrap_or_else(CorrelationId::new_random)
}

/// Middleware (use with `actix_web::middleware::from_fn`) that assigns the correlation ID.
///
/// Wrap it *outside* `TracingLogger<RootSpan>` (that is, `.wrap()` it after the logger) so
/// that the ID is in place when the root span is opened.
pub async fn correlation_middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = from_headers(&req);
    req.extensions_mut().insert(id.clone());
    let mut res = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(id.as_str()) {
        res.headers_mut()
            .insert(HeaderName::from_static(CORRELATION_ID_HEADER), value);
    }
    Ok(res)
}

/// Root span builder for `tracing_actix_web::TracingLogger` that records `correlation_id`.
#[derive(Debug)]
pub struct RootSpan;

impl RootSpanBuilder for RootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let id = request
            .extensions()
            .get::<CorrelationId>()
            .cloned()
            .unwrap_or_else(CorrelationId::new_random);
        tracing_actix_web::root_span!(request, correlation_id = %id)
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        // One access-log line per request, inside the root span so it carries the
        // correlation ID, method and route.
        let status = match outcome {
            Ok(response) => response.status().as_u16(),
            Err(e) => e.as_response_error().status_code().as_u16(),
        };
        tracing::info!(parent: &span, status, "request served");
        tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::CorrelationId;

    #[test]
    fn parse_rejects_empty_long_and_non_ascii_ids() {
        assert!(CorrelationId::parse("").is_none());
        assert!(CorrelationId::parse(&"a".repeat(129)).is_none());
        assert!(CorrelationId::parse("has space").is_none());
        assert!(CorrelationId::parse("é").is_none());
        assert_eq!(
            CorrelationId::parse("abc-123").map(|c| c.to_string()),
            Some("abc-123".to_owned())
        );
    }
}

#[cfg(test)]
mod log_tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use actix_web::middleware::from_fn;
    use actix_web::{App, HttpResponse, test, web};
    use tracing_actix_web::TracingLogger;
    use tracing_subscriber::fmt::MakeWriter;

    use super::{RootSpan, correlation_middleware};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("buffer lock").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    #[actix_web::test]
    async fn every_log_line_of_a_request_carries_its_correlation_id() {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_current_span(false)
            .with_span_list(true)
            .flatten_event(true)
            .with_writer(buffer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let app = test::init_service(
            App::new()
                .route(
                    "/work",
                    web::get().to(|| async {
                        tracing::info!("doing the work");
                        HttpResponse::Ok().finish()
                    }),
                )
                .wrap(TracingLogger::<RootSpan>::new())
                .wrap(from_fn(correlation_middleware)),
        )
        .await;
        let request = test::TestRequest::get()
            .uri("/work")
            .insert_header(("x-correlation-id", "abc-123"))
            .to_request();
        let response = test::call_service(&app, request).await;
        assert_eq!(
            response
                .headers()
                .get("x-correlation-id")
                .map(|v| v.as_bytes()),
            Some(&b"abc-123"[..])
        );
        let text =
            String::from_utf8(buffer.0.lock().expect("buffer lock").clone()).expect("UTF-8 logs");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON log line"))
            .collect();
        let messages: Vec<&str> = lines.iter().filter_map(|l| l["message"].as_str()).collect();
        assert!(messages.contains(&"doing the work"), "{messages:?}");
        assert!(messages.contains(&"request served"), "{messages:?}");
        for line in &lines {
            assert_eq!(line["spans"][0]["correlation_id"], "abc-123", "{line}");
        }
    }
}
