//! The SDK's HTTP client, on reqwest.
//!
//! The SDK's own client (`aws-smithy-http-client`) is a second hyper stack beside reqwest's, and
//! it enables HTTP/2 in hyper for every crate that shares it: `h2` alone was ≈ 450 KB of each
//! bootstrap, though the AWS APIs the functions call answer HTTP/1.1. Here the SDK's requests go
//! through one reqwest client (HTTP/1.1, rustls on ring, pooled connections), the stack the
//! delivery, Stripe and page-fetching clients use already.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use std::time::Duration;

/// The client every SDK client of a process shares. `connect_timeout` bounds a TCP and TLS
/// set-up; the SDK's attempt and operation timeouts bound the rest.
pub fn reqwest_http_client(connect_timeout: Duration) -> Result<SharedHttpClient, reqwest::Error> {
    let client = reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        // The SDK checks response checksums (DynamoDB's x-amz-crc32) over the bytes as sent, so
        // reqwest must neither ask for compressed answers nor decode them.
        .no_gzip()
        .no_brotli()
        .no_deflate()
        .no_zstd()
        .build()?;
    Ok(SharedHttpClient::new(ReqwestHttpClient { client }))
}

#[derive(Debug)]
struct ReqwestHttpClient {
    client: reqwest::Client,
}

impl HttpClient for ReqwestHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        // Called once per attempt; a reqwest client is a handle to one shared pool.
        SharedHttpConnector::new(ReqwestConnector {
            client: self.client.clone(),
            read_timeout: settings.read_timeout(),
        })
    }
}

#[derive(Debug)]
struct ReqwestConnector {
    client: reqwest::Client,
    /// reqwest times a whole request rather than each read; a stalled answer fails after this.
    read_timeout: Option<Duration>,
}

impl HttpConnector for ReqwestConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.client.clone();
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move { send(&client, request, read_timeout).await })
    }
}

async fn send(
    client: &reqwest::Client,
    request: HttpRequest,
    read_timeout: Option<Duration>,
) -> Result<HttpResponse, ConnectorError> {
    let request = request
        .try_into_http1x()
        .map_err(|error| ConnectorError::user(error.into()))?;
    let (parts, body) = request.into_parts();
    let body = match body.bytes() {
        Some(bytes) => reqwest::Body::from(bytes.to_vec()),
        None => reqwest::Body::wrap(body),
    };
    let mut outgoing = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body);
    if let Some(timeout) = read_timeout {
        outgoing = outgoing.timeout(timeout);
    }
    let answer = outgoing.send().await.map_err(classify)?;
    let status = answer.status();
    let headers = answer.headers().clone();
    // Whole bodies: every answer the functions read (items, messages, one raw e-mail) is small
    // enough to hold, and the SDK parses them whole anyway.
    let bytes = answer.bytes().await.map_err(classify)?;
    let mut response = http::Response::new(SdkBody::from(bytes));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    HttpResponse::try_from(response).map_err(|error| ConnectorError::other(error.into(), None))
}

/// Sorts a transport failure the way the SDK's retry policy expects: timeouts and I/O failures
/// (refused, reset, a pooled connection closed while the function was frozen) are transient.
fn classify(error: reqwest::Error) -> ConnectorError {
    if error.is_timeout() {
        ConnectorError::timeout(error.into())
    } else if error.is_connect() || error.is_request() || error.is_body() {
        ConnectorError::io(error.into())
    } else {
        ConnectorError::other(error.into(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// One raw HTTP exchange on loopback: the request as bytes, and the answer we chose.
    fn serve_once(answer: &'static [u8]) -> (String, std::thread::JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds loopback");
        let address = format!("http://{}", listener.local_addr().expect("has an address"));
        let handle = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accepts");
            let mut received = Vec::new();
            let mut buffer = [0u8; 4096];
            while !received.windows(4).any(|window| window == b"\r\n\r\n")
                || !received.ends_with(b"{\"Limit\":1}")
            {
                let read = stream.read(&mut buffer).expect("reads");
                if read == 0 {
                    break;
                }
                received.extend_from_slice(&buffer[..read]);
            }
            stream.write_all(answer).expect("answers");
            received
        });
        (address, handle)
    }

    fn connector(client: &SharedHttpClient, read_timeout: Option<Duration>) -> SharedHttpConnector {
        let mut settings = HttpConnectorSettings::builder();
        if let Some(timeout) = read_timeout {
            settings = settings.read_timeout(timeout);
        }
        let components = RuntimeComponentsBuilder::for_tests()
            .build()
            .expect("test components");
        client.http_connector(&settings.build(), &components)
    }

    #[tokio::test]
    async fn sends_method_headers_and_body_and_returns_the_answer_unchanged() {
        let (address, server) = serve_once(
            b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\nx-amz-crc32: 42\r\ncontent-length: 13\r\n\r\n{\"oops\":true}",
        );
        let client = reqwest_http_client(Duration::from_secs(3)).expect("builds");
        let request = http::Request::builder()
            .method("POST")
            .uri(format!("{address}/"))
            .header("x-amz-target", "DynamoDB_20120810.Scan")
            .body(SdkBody::from("{\"Limit\":1}"))
            .expect("request");
        let response = connector(&client, None)
            .call(HttpRequest::try_from(request).expect("converts"))
            .await
            .expect("answers");
        assert_eq!(response.status().as_u16(), 400);
        assert_eq!(response.headers().get("x-amz-crc32"), Some("42"));
        assert_eq!(response.body().bytes(), Some(&b"{\"oops\":true}"[..]));
        let received = String::from_utf8(server.join().expect("server")).expect("utf-8");
        assert!(received.starts_with("POST / HTTP/1.1\r\n"), "{received}");
        assert!(received.contains("x-amz-target: DynamoDB_20120810.Scan\r\n"));
        assert!(!received.to_ascii_lowercase().contains("accept-encoding"));
        assert!(received.ends_with("{\"Limit\":1}"));
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_transient_io_error() {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("free port")
            .port();
        let client = reqwest_http_client(Duration::from_secs(3)).expect("builds");
        let request = http::Request::builder()
            .uri(format!("http://127.0.0.1:{port}/"))
            .body(SdkBody::empty())
            .expect("request");
        let error = connector(&client, None)
            .call(HttpRequest::try_from(request).expect("converts"))
            .await
            .expect_err("nothing listens");
        assert!(error.is_io(), "{error:?}");
    }

    #[tokio::test]
    async fn a_stalled_answer_times_out_after_the_read_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
        let address = listener.local_addr().expect("address");
        // Accepts and never answers.
        let _held = std::thread::spawn(move || listener.accept().map(|(stream, _)| stream));
        let client = reqwest_http_client(Duration::from_secs(3)).expect("builds");
        let request = http::Request::builder()
            .uri(format!("http://{address}/"))
            .body(SdkBody::empty())
            .expect("request");
        let error = connector(&client, Some(Duration::from_millis(200)))
            .call(HttpRequest::try_from(request).expect("converts"))
            .await
            .expect_err("no answer");
        assert!(error.is_timeout(), "{error:?}");
    }
}
