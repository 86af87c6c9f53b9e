//! The HTTP transport against a scripted loopback server: requests arrive as built,
//! responses come back whole, connections are reused, and every bound (read timeout,
//! deadline, size cap) ends the request with its own error instead of hanging or panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "transport_loopback.rs"]
mod loopback;

use std::time::{Duration, Instant};

use loopback::{Reply, Server};
use portcullis_wire::protocol::serialize::{Body, HttpRequest};
use portcullis_wire::transport::{
    Limits, PreparedBody, PreparedRequest, TlsRoots, Transport, TransportConfig, TransportError,
};

fn transport() -> Transport {
    Transport::new(TransportConfig {
        connect_timeout: Duration::from_secs(2),
        ..TransportConfig::default()
    })
    .unwrap()
}

fn limits() -> Limits {
    Limits {
        read_timeout: Duration::from_secs(5),
        deadline: Duration::from_secs(10),
        max_response_bytes: 1024,
        ..Limits::default()
    }
}

#[tokio::test]
async fn sends_the_request_and_returns_the_whole_response() {
    let server = Server::start(vec![Reply::Http {
        status: 200,
        headers: vec![("x-amzn-RequestId".into(), "req-1".into())],
        body: b"{\"ok\":true}".to_vec(),
    }])
    .await;
    let req = PreparedRequest::new("POST", server.url("/path?x=1"))
        .with_header("Content-Type", "application/x-amz-json-1.0")
        .with_header("X-Amz-Target", "Svc.Op")
        .with_body(&b"{\"a\":1}"[..]);
    let resp = transport().send(req, &limits()).await.unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body, b"{\"ok\":true}");
    assert_eq!(resp.header("x-amzn-requestid"), Some("req-1"));

    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].target, "/path?x=1");
    assert_eq!(seen[0].header("x-amz-target"), Some("Svc.Op"));
    assert_eq!(seen[0].header("content-length"), Some("7"));
    assert_eq!(
        seen[0].header("host"),
        Some(server.addr.to_string().as_str())
    );
    assert_eq!(seen[0].body, b"{\"a\":1}");
}

#[tokio::test]
async fn keeps_connections_alive() {
    let server = Server::start(vec![Reply::status(200, "one"), Reply::status(200, "two")]).await;
    let t = transport();
    for expected in ["one", "two"] {
        let resp = t
            .send(PreparedRequest::new("GET", server.url("/")), &limits())
            .await
            .unwrap();
        assert_eq!(resp.body, expected.as_bytes());
    }
    assert_eq!(
        server.connection_count(),
        1,
        "the second request reuses the connection"
    );
}

#[tokio::test]
async fn error_statuses_are_responses_not_transport_errors() {
    let server = Server::start(vec![Reply::json_error(400, "ValidationException")]).await;
    let resp = transport()
        .send(PreparedRequest::new("GET", server.url("/")), &limits())
        .await
        .unwrap();
    assert_eq!(resp.status, 400);
    assert!(String::from_utf8_lossy(&resp.body).contains("ValidationException"));
}

#[tokio::test]
async fn declared_oversized_response_is_refused() {
    let server = Server::start(vec![Reply::status(200, &"x".repeat(2000))]).await;
    let err = transport()
        .send(PreparedRequest::new("GET", server.url("/")), &limits())
        .await
        .unwrap_err();
    assert!(
        matches!(err, TransportError::ResponseTooLarge { limit: 1024, .. }),
        "{err:?}"
    );
    assert!(!err.is_transient());
    assert!(err.to_string().contains("1024 bytes"), "{err}");
}

#[tokio::test]
async fn streamed_oversized_response_is_cut_off() {
    let server = Server::start(vec![Reply::Chunked {
        status: 200,
        chunks: vec![vec![b'a'; 600], vec![b'b'; 600], vec![b'c'; 600]],
        every: Duration::from_millis(1),
    }])
    .await;
    let err = transport()
        .send(PreparedRequest::new("GET", server.url("/")), &limits())
        .await
        .unwrap_err();
    assert!(
        matches!(err, TransportError::ResponseTooLarge { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn chunked_response_within_the_cap_is_assembled() {
    let server = Server::start(vec![Reply::Chunked {
        status: 200,
        chunks: vec![b"hello ".to_vec(), b"world".to_vec()],
        every: Duration::from_millis(1),
    }])
    .await;
    let resp = transport()
        .send(PreparedRequest::new("GET", server.url("/")), &limits())
        .await
        .unwrap();
    assert_eq!(resp.body, b"hello world");
}

#[tokio::test]
async fn silent_server_hits_the_read_timeout() {
    let server = Server::start(vec![Reply::Silent]).await;
    let l = Limits {
        read_timeout: Duration::from_millis(200),
        ..limits()
    };
    let started = Instant::now();
    let err = transport()
        .send(PreparedRequest::new("GET", server.url("/")), &l)
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::ReadTimeout { .. }), "{err:?}");
    assert!(err.is_transient() && err.is_timeout());
    // Bounded: well before the deadline (10 s); generous for a loaded machine.
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn slow_trickle_hits_the_overall_deadline() {
    // Each chunk arrives within the read timeout, but the whole takes longer than the deadline.
    let server = Server::start(vec![Reply::Chunked {
        status: 200,
        chunks: vec![b"x".to_vec(); 50],
        every: Duration::from_millis(50),
    }])
    .await;
    let l = Limits {
        read_timeout: Duration::from_secs(2),
        deadline: Duration::from_millis(300),
        max_response_bytes: 1024,
        ..Limits::default()
    };
    let started = Instant::now();
    let err = transport()
        .send(PreparedRequest::new("GET", server.url("/")), &l)
        .await
        .unwrap_err();
    assert!(
        matches!(err, TransportError::DeadlineExceeded { .. }),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn refused_connection_is_a_transient_connect_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = transport()
        .send(
            PreparedRequest::new("GET", format!("http://{addr}/")),
            &limits(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::Connect { .. }), "{err:?}");
    assert!(err.is_transient() && !err.is_timeout());
}

#[tokio::test]
async fn garbage_response_is_an_error_not_a_panic() {
    let server = Server::start(vec![Reply::Raw(
        b"NOT HTTP AT ALL\r\n\r\n\x00\xff".to_vec(),
    )])
    .await;
    let err = transport()
        .send(PreparedRequest::new("GET", server.url("/")), &limits())
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::Io { .. }), "{err:?}");
}

#[tokio::test]
async fn tls_to_a_plain_server_fails_cleanly() {
    // A plain-text server that answers the TLS ClientHello with HTTP and hangs up.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut s, _)) = listener.accept().await {
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
            let _ = s.shutdown().await;
        }
    });
    let url = format!("https://{addr}/");
    let err = transport()
        .send(PreparedRequest::new("GET", url), &limits())
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::Connect { .. }), "{err:?}");
}

#[tokio::test]
async fn invalid_requests_are_refused_without_echoing_header_values() {
    let t = transport();
    let bad = PreparedRequest::new("GET", "http://127.0.0.1:1/")
        .with_header("X-Amz-Security-Token", "SECRET\r\nInjected: yes");
    let err = t.send(bad, &limits()).await.unwrap_err();
    assert!(matches!(err, TransportError::InvalidRequest(_)), "{err:?}");
    assert!(!err.to_string().contains("SECRET"), "{err}");

    for url in ["ftp://example.com/", "/relative", "http://", "not a url"] {
        let err = t
            .send(PreparedRequest::new("GET", url), &limits())
            .await
            .unwrap_err();
        assert!(
            matches!(err, TransportError::InvalidRequest(_)),
            "{url}: {err:?}"
        );
    }
    let err = t
        .send(
            PreparedRequest::new("GE T", "http://127.0.0.1:1/"),
            &limits(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::InvalidRequest(_)), "{err:?}");
}

#[tokio::test]
async fn file_bodies_are_not_streamed_yet() {
    let req = PreparedRequest {
        body: PreparedBody::File("big.bin".into()),
        ..PreparedRequest::new("PUT", "http://127.0.0.1:1/bucket/big.bin")
    };
    let err = transport().send(req, &limits()).await.unwrap_err();
    assert!(matches!(err, TransportError::UnsupportedBody(_)), "{err:?}");
}

#[test]
fn native_roots_build_or_fail_with_a_clear_error() {
    // The machine may have no system store; either way no panic.
    match Transport::new(TransportConfig {
        tls_roots: TlsRoots::Native,
        ..TransportConfig::default()
    }) {
        Ok(_) => {}
        Err(e) => assert!(matches!(e, TransportError::Tls(_)), "{e:?}"),
    }
}

fn serialized(
    path: &str,
    query: Vec<(&str, Option<&str>)>,
    host_prefix: Option<&str>,
) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        path: path.into(),
        query: query
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
            .collect(),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: Body::Bytes(b"{}".to_vec()),
        host_prefix: host_prefix.map(str::to_string),
    }
}

#[test]
fn from_serialized_joins_endpoint_prefix_path_and_query() {
    let req = serialized(
        "/2015-03-31/functions/my%20fn",
        vec![("Qualifier", Some("a b")), ("flag", None)],
        None,
    );
    let p =
        PreparedRequest::from_serialized(&req, "https://lambda.us-east-1.amazonaws.com").unwrap();
    assert_eq!(
        p.url,
        "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/my%20fn?Qualifier=a%20b&flag"
    );
    assert_eq!(p.method, "POST");
    assert_eq!(p.header("content-type"), Some("application/json"));
    assert_eq!(p.body, PreparedBody::Bytes(b"{}".to_vec().into()));

    let req = serialized("/", vec![], Some("data."));
    let p = PreparedRequest::from_serialized(&req, "https://iot.us-east-1.amazonaws.com/").unwrap();
    assert_eq!(p.url, "https://data.iot.us-east-1.amazonaws.com/");

    let req = serialized("/bucket/key", vec![], None);
    let p = PreparedRequest::from_serialized(&req, "http://127.0.0.1:5000/base/").unwrap();
    assert_eq!(p.url, "http://127.0.0.1:5000/base/bucket/key");

    let req = HttpRequest {
        body: Body::File("upload.bin".into()),
        ..serialized("/b/k", vec![], None)
    };
    let p = PreparedRequest::from_serialized(&req, "https://s3.amazonaws.com").unwrap();
    assert_eq!(p.body, PreparedBody::File("upload.bin".into()));
}

#[test]
fn from_serialized_rejects_bad_endpoints() {
    let req = serialized("/", vec![], None);
    for endpoint in ["ftp://x", "no-scheme.example.com", "https://x/?q=1", ""] {
        assert!(
            matches!(
                PreparedRequest::from_serialized(&req, endpoint),
                Err(TransportError::InvalidRequest(_))
            ),
            "{endpoint}"
        );
    }
    let bad_prefix = serialized("/", vec![], Some("bad prefix."));
    assert!(PreparedRequest::from_serialized(&bad_prefix, "https://x.amazonaws.com").is_err());
}

#[test]
fn body_debug_shows_size_not_content() {
    let req = PreparedRequest::new("PUT", "https://x/").with_body(&b"SECRETVALUE"[..]);
    let dbg = format!("{req:?}");
    assert!(
        !dbg.contains("SECRETVALUE") && dbg.contains("11 bytes"),
        "{dbg}"
    );
}
