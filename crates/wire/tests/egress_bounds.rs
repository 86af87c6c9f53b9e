//! Hostile cases for the engine's egress control and bounds, on loopback only: instance
//! metadata and other never-reachable addresses by literal IP (every spelling), through the
//! resolver and through the rule endpoint; loopback by name still works; oversized requests are
//! refused before a connection; huge responses, runaway paging and slow endpoints end with the
//! exact error or an explicit truncation marker and a continuation token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "transport_loopback.rs"]
mod loopback;

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::{Duration, Instant};

use hyper_util::client::legacy::connect::dns::Name;
use loopback::{Reply, Server};
use portcullis_cli::{Command, DenyAll, OperationCall, Parser};
use portcullis_wire::egress::{self, EgressRefused, EndpointAllowList, Forbidden};
use portcullis_wire::execute::{Engine, EngineConfig, ExecError, Truncated, TruncatedBy};
use portcullis_wire::paginate::encode_token;
use portcullis_wire::retry::RetryPolicy;
use portcullis_wire::transport::{
    GuardedConnector, GuardedResolver, Limits, PreparedRequest, Transport, TransportConfig,
    TransportError,
};
use serde_json::json;
use tower_service::Service;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn refused(host: &str, addr: &str, reason: Forbidden) -> EgressRefused {
    EgressRefused {
        host: host.to_string(),
        addr: ip(addr),
        reason,
    }
}

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
        max_response_bytes: 1 << 16,
        max_request_bytes: 1024,
    }
}

/// Sends a GET to `url` and returns the transport error (the request must fail).
async fn refusal(url: &str) -> TransportError {
    let started = Instant::now();
    let err = transport()
        .send(PreparedRequest::new("GET", url), &limits())
        .await
        .unwrap_err();
    // Refused before any connection attempt: no connect timeout, no read timeout.
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{url} took {:?}",
        started.elapsed()
    );
    err
}

// ---- The address rules -------------------------------------------------------------------------

#[test]
fn never_reachable_addresses_and_why() {
    use Forbidden::*;
    let cases = [
        ("169.254.169.254", InstanceMetadata),
        ("fd00:ec2::254", InstanceMetadata),
        ("::ffff:169.254.169.254", InstanceMetadata),
        ("::169.254.169.254", InstanceMetadata),
        ("64:ff9b::a9fe:a9fe", InstanceMetadata),
        ("2002:a9fe:a9fe::1", InstanceMetadata),
        ("fd00:ec2::253", AwsInstanceServices),
        ("169.254.170.2", LinkLocal),
        ("169.254.0.1", LinkLocal),
        ("fe80::1", LinkLocal),
        ("febf::1", LinkLocal),
        ("::ffff:169.254.1.1", LinkLocal),
        ("0.0.0.0", Unspecified),
        ("0.1.2.3", Unspecified),
        ("::", Unspecified),
        ("::ffff:0.0.0.0", Unspecified),
        ("224.0.0.1", Multicast),
        ("239.255.255.250", Multicast),
        ("ff02::1", Multicast),
        ("255.255.255.255", Broadcast),
    ];
    for (addr, why) in cases {
        assert_eq!(egress::forbidden(ip(addr)), Some(why), "{addr}");
    }
    // Loopback, private and public addresses are not refused by the transport (interface VPC
    // endpoints resolve AWS names to private addresses); the policy decides on --endpoint-url.
    for addr in [
        "127.0.0.1",
        "127.9.8.7",
        "::1",
        "::ffff:127.0.0.1",
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "fd12::1",
        "52.94.76.1",
        "2600:1f18::1",
        "fec0::1",
    ] {
        assert_eq!(egress::forbidden(ip(addr)), None, "{addr}");
    }
    assert!(
        egress::is_private(ip("100.127.255.255"))
            && egress::is_private(ip("fc00::1"))
            && egress::is_private(ip("::ffff:10.1.2.3"))
    );
    assert!(!egress::is_private(ip("100.128.0.1")) && !egress::is_private(ip("127.0.0.1")));
}

#[test]
fn numeric_ipv4_spellings_are_read_as_getaddrinfo_reads_them() {
    let imds = Some(ip("169.254.169.254"));
    for host in [
        "169.254.169.254",
        "2852039166",
        "0xA9FEA9FE",
        "0xa9fea9fe",
        "0251.0376.0251.0376",
        "169.254.43518",
        "0xa9.0xfe.0xa9.0xfe",
        "0251.254.0xa9.254",
        "169.254.169.254.",
    ] {
        assert_eq!(egress::literal_ip(host), imds, "{host}");
    }
    assert_eq!(
        egress::literal_ip("[fd00:ec2::254]"),
        Some(ip("fd00:ec2::254"))
    );
    assert_eq!(egress::literal_ip("127.1"), Some(ip("127.0.0.1")));
    assert_eq!(egress::literal_ip("0"), Some(ip("0.0.0.0")));
    for host in [
        "minio.internal",
        "sqs.us-east-1.amazonaws.com",
        "1.2.3.4.5",
        "256.0.0.1",
        "4294967296",
        "09",
        "0xg1",
        "",
        "deadbeef",
        "1.2.3.0x",
    ] {
        if host == "1.2.3.0x" {
            // inet_aton reads a bare `0x` as 0.
            assert_eq!(egress::literal_ip(host), Some(ip("1.2.3.0")));
            continue;
        }
        assert_eq!(egress::literal_ip(host), None, "{host}");
    }
}

#[test]
fn resolved_addresses_are_filtered() {
    let sa = |s: &str| SocketAddr::new(ip(s), 443);
    // A name that resolves only to metadata: refused, naming the address.
    assert_eq!(
        egress::filter_resolved("metadata.example", [sa("169.254.169.254")]),
        Err(refused(
            "metadata.example",
            "169.254.169.254",
            Forbidden::InstanceMetadata
        ))
    );
    // Mixed answers: the refused ones are dropped, the rest kept in order.
    assert_eq!(
        egress::filter_resolved(
            "mixed.example",
            [
                sa("fd00:ec2::254"),
                sa("52.94.76.1"),
                sa("fe80::1"),
                sa("2600:1f18::1")
            ]
        ),
        Ok(vec![sa("52.94.76.1"), sa("2600:1f18::1")])
    );
    // All refused: the first refusal is reported.
    assert_eq!(
        egress::filter_resolved(
            "rebind.example",
            [sa("fe80::1"), sa("::"), sa("169.254.169.254")]
        ),
        Err(refused("rebind.example", "fe80::1", Forbidden::LinkLocal))
    );
    assert_eq!(
        egress::filter_resolved("v4mapped.example", [sa("::ffff:169.254.169.254")]),
        Err(refused(
            "v4mapped.example",
            "::ffff:169.254.169.254",
            Forbidden::InstanceMetadata
        ))
    );
    assert_eq!(
        egress::filter_resolved("zero.example", [sa("0.0.0.0")]),
        Err(refused("zero.example", "0.0.0.0", Forbidden::Unspecified))
    );
    // An allow-listed private name stays reachable (VPC endpoints, MinIO on the LAN).
    assert_eq!(
        egress::filter_resolved("minio.internal", [sa("10.0.0.5")]),
        Ok(vec![sa("10.0.0.5")])
    );
    // `localhost` must be loopback: a hosts-file or DNS trick mapping it elsewhere is refused.
    assert_eq!(
        egress::filter_resolved("localhost", [sa("10.0.0.5")]),
        Err(refused(
            "localhost",
            "10.0.0.5",
            Forbidden::LocalhostNotLoopback
        ))
    );
    assert_eq!(
        egress::filter_resolved("LocalHost.", [sa("52.94.76.1"), sa("127.0.0.1")]),
        Ok(vec![sa("127.0.0.1")])
    );
    assert_eq!(
        egress::filter_resolved("api.localhost", [sa("::1")]),
        Ok(vec![sa("::1")])
    );
    // Nothing resolved is not a refusal (the connector reports the DNS failure).
    assert_eq!(egress::filter_resolved("nx.example", []), Ok(vec![]));
    // The last check, on the peer of an established connection.
    assert_eq!(
        egress::check_peer("x.example", ip("169.254.169.254")),
        Err(refused(
            "x.example",
            "169.254.169.254",
            Forbidden::InstanceMetadata
        ))
    );
    assert_eq!(
        egress::check_peer("localhost", ip("192.168.1.1")),
        Err(refused(
            "localhost",
            "192.168.1.1",
            Forbidden::LocalhostNotLoopback
        ))
    );
    assert_eq!(egress::check_peer("localhost", ip("127.0.0.1")), Ok(()));
}

#[test]
fn endpoint_allow_list_repeats_the_policy() {
    let none = EndpointAllowList::loopback_only();
    let listed = EndpointAllowList::new(["minio.internal", "*.test.example", "10.0.0.5"]);
    for url in [
        "http://127.0.0.1:5000",
        "http://[::1]:4566/",
        "https://LOCALHOST:4566",
        "http://127.9.8.7",
    ] {
        assert_eq!(none.check(url), Ok(()), "{url}");
    }
    assert_eq!(listed.check("https://MINIO.internal:9000/bucket"), Ok(()));
    assert_eq!(listed.check("https://s3.test.example"), Ok(()));
    assert_eq!(listed.check("http://10.0.0.5:9000"), Ok(()));
    assert_eq!(
        listed.check("https://s3.test.example.evil.com"),
        Err("endpoint `https://s3.test.example.evil.com`: `s3.test.example.evil.com` is neither loopback nor in the endpoint allow-list (the policy's `global_options.endpoint_hosts`)".into())
    );
    assert_eq!(
        none.check("http://10.0.0.5:9000"),
        Err("endpoint `http://10.0.0.5:9000`: `10.0.0.5` is neither loopback nor in the endpoint allow-list (the policy's `global_options.endpoint_hosts`)".into())
    );
    // A name that resolves to loopback is still a name: not admitted unless listed.
    assert!(
        none.check("http://127.0.0.1.nip.io:4566")
            .unwrap_err()
            .contains("neither loopback nor in the endpoint allow-list")
    );
    let all = EndpointAllowList::new(["*"]);
    assert_eq!(
        all.check("http://169.254.169.254/latest"),
        Err("endpoint `http://169.254.169.254/latest` points at the instance metadata service (169.254.169.254); that is never allowed".into())
    );
    assert_eq!(
        all.check("http://0xA9FEA9FE/"),
        Err("endpoint `http://0xA9FEA9FE/` points at the instance metadata service (169.254.169.254); that is never allowed".into())
    );
    assert_eq!(
        all.check("http://2130706433:4566/"),
        Err("endpoint `http://2130706433:4566/` spells the address 127.0.0.1 in a non-standard form; write it as dotted decimal".into())
    );
    assert_eq!(all.check("http://[fe80::1]/"), Err("endpoint `http://[fe80::1]/` points at a link-local address (fe80::1); that is never allowed".into()));
    assert_eq!(
        all.check("http://user@127.0.0.1/"),
        Err("endpoint `http://user@127.0.0.1/` carries user information (`@`)".into())
    );
}

// ---- The transport refuses, for every request ---------------------------------------------------

#[tokio::test]
async fn imds_by_literal_ip_in_every_spelling_is_refused() {
    let imds = "169.254.169.254";
    for host in [
        "169.254.169.254",
        "2852039166",
        "0xA9FEA9FE",
        "0251.0376.0251.0376",
        "169.254.43518",
        "0xa9.0xfe.0xa9.0xfe",
    ] {
        let err = refusal(&format!(
            "http://{host}/latest/meta-data/iam/security-credentials/"
        ))
        .await;
        assert_eq!(
            err,
            TransportError::Egress(refused(host, imds, Forbidden::InstanceMetadata)),
            "{host}"
        );
        assert!(!err.is_transient());
        assert_eq!(
            err.to_string(),
            format!(
                "refused to connect to `{host}`: 169.254.169.254 is the instance metadata service; Portcullis never connects there, whatever the endpoint or DNS say"
            )
        );
    }
}

#[tokio::test]
async fn imds_over_ipv6_and_mapped_forms_is_refused() {
    for (host, addr) in [
        ("[fd00:ec2::254]", "fd00:ec2::254"),
        ("[::ffff:169.254.169.254]", "::ffff:169.254.169.254"),
        ("[::ffff:a9fe:a9fe]", "::ffff:169.254.169.254"),
        ("[64:ff9b::a9fe:a9fe]", "64:ff9b::a9fe:a9fe"),
    ] {
        let err = refusal(&format!("http://{host}/latest/api/token")).await;
        assert_eq!(
            err,
            TransportError::Egress(refused(host, addr, Forbidden::InstanceMetadata)),
            "{host}"
        );
    }
}

#[tokio::test]
async fn link_local_unspecified_multicast_and_broadcast_are_refused() {
    for (host, addr, why) in [
        ("169.254.170.2", "169.254.170.2", Forbidden::LinkLocal),
        ("[fe80::1]", "fe80::1", Forbidden::LinkLocal),
        (
            "[fd00:ec2::123]",
            "fd00:ec2::123",
            Forbidden::AwsInstanceServices,
        ),
        ("224.0.0.251", "224.0.0.251", Forbidden::Multicast),
        ("[ff02::1]", "ff02::1", Forbidden::Multicast),
        ("255.255.255.255", "255.255.255.255", Forbidden::Broadcast),
    ] {
        assert_eq!(
            refusal(&format!("http://{host}/")).await,
            TransportError::Egress(refused(host, addr, why)),
            "{host}"
        );
    }
}

#[tokio::test]
async fn unspecified_addresses_never_reach_a_local_listener() {
    // On Linux, connecting to 0.0.0.0 reaches the local host: a listener on the port would answer.
    let server = Server::start(vec![Reply::status(200, "{}")]).await;
    let port = server.addr.port();
    for (host, addr) in [("0.0.0.0", "0.0.0.0"), ("0", "0.0.0.0"), ("[::]", "::")] {
        let err = refusal(&format!("http://{host}:{port}/")).await;
        assert_eq!(
            err,
            TransportError::Egress(refused(host, addr, Forbidden::Unspecified)),
            "{host}"
        );
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(server.connection_count(), 0);
}

#[tokio::test]
async fn the_resolver_drops_what_dns_returns_for_metadata() {
    // getaddrinfo reads numeric names itself, so these reach the resolver as names and come
    // back as 169.254.169.254: the guarded resolver refuses them whatever the URL check did.
    let mut resolver = GuardedResolver;
    for name in ["0xA9FEA9FE", "2852039166", "0251.0376.0251.0376"] {
        let err = resolver
            .call(Name::from_str(name).unwrap())
            .await
            .unwrap_err();
        let refusal = err
            .downcast_ref::<EgressRefused>()
            .unwrap_or_else(|| panic!("{name}: {err}"));
        assert_eq!(
            refusal,
            &refused(name, "169.254.169.254", Forbidden::InstanceMetadata)
        );
    }
    let err = resolver
        .call(Name::from_str("0.0.0.0").unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        err.downcast_ref::<EgressRefused>(),
        Some(&refused("0.0.0.0", "0.0.0.0", Forbidden::Unspecified))
    );
    // A name that resolves to loopback passes.
    let addrs: Vec<SocketAddr> = resolver
        .call(Name::from_str("localhost").unwrap())
        .await
        .unwrap()
        .collect();
    assert!(
        !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()),
        "{addrs:?}"
    );
}

#[tokio::test]
async fn the_connector_checks_literal_hosts_itself() {
    // The connector is the last line for pooled clients: it refuses without the send-time check.
    let mut connector = GuardedConnector::new(Duration::from_secs(2));
    for (uri, host, addr, why) in [
        (
            "http://169.254.169.254/",
            "169.254.169.254",
            "169.254.169.254",
            Forbidden::InstanceMetadata,
        ),
        (
            "http://0xA9FEA9FE/",
            "0xA9FEA9FE",
            "169.254.169.254",
            Forbidden::InstanceMetadata,
        ),
        (
            "http://[fd00:ec2::254]/",
            "[fd00:ec2::254]",
            "fd00:ec2::254",
            Forbidden::InstanceMetadata,
        ),
        (
            "http://0.0.0.0:1/",
            "0.0.0.0",
            "0.0.0.0",
            Forbidden::Unspecified,
        ),
    ] {
        let err = connector.call(uri.parse().unwrap()).await.unwrap_err();
        assert_eq!(
            err.downcast_ref::<EgressRefused>(),
            Some(&refused(host, addr, why)),
            "{uri}: {err}"
        );
    }
    // Loopback by name connects.
    let server = Server::start(vec![Reply::status(200, "{}")]).await;
    let io = connector
        .call(
            format!("http://localhost:{}/", server.addr.port())
                .parse()
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(io.inner().peer_addr().unwrap().ip().is_loopback());
}

#[tokio::test]
async fn loopback_by_name_and_by_address_still_works() {
    let server = Server::start(vec![Reply::status(200, r#"{"ok":true}"#)]).await;
    let port = server.addr.port();
    for url in [
        format!("http://localhost:{port}/a"),
        format!("http://127.0.0.1:{port}/b"),
    ] {
        let resp = transport()
            .send(PreparedRequest::new("GET", &url), &limits())
            .await
            .unwrap();
        assert_eq!(
            (resp.status, resp.body.as_slice()),
            (200, &br#"{"ok":true}"#[..]),
            "{url}"
        );
    }
    let targets: Vec<String> = server.requests().into_iter().map(|s| s.target).collect();
    assert_eq!(targets, ["/a", "/b"]);
}

#[tokio::test]
async fn an_oversized_request_body_is_refused_before_connecting() {
    let server = Server::start(vec![Reply::status(200, "{}")]).await;
    let req = PreparedRequest::new("PUT", server.url("/big")).with_body(vec![b'x'; 1025]);
    let err = transport().send(req, &limits()).await.unwrap_err();
    assert_eq!(
        err,
        TransportError::RequestTooLarge {
            host: "127.0.0.1".into(),
            size: 1025,
            limit: 1024
        }
    );
    assert_eq!(
        err.to_string(),
        "request body for 127.0.0.1 is 1025 bytes, over the limit of 1024 bytes; nothing was sent"
    );
    assert!(!err.is_transient());
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(server.connection_count(), 0);
    // At the limit it goes.
    let req = PreparedRequest::new("PUT", server.url("/ok")).with_body(vec![b'x'; 1024]);
    assert_eq!(transport().send(req, &limits()).await.unwrap().status, 200);
}

#[tokio::test]
async fn a_huge_response_hits_the_cap_with_its_own_error() {
    let server = Server::start(vec![Reply::Http {
        status: 200,
        headers: vec![],
        body: vec![b'a'; (1 << 16) + 1],
    }])
    .await;
    let err = transport()
        .send(PreparedRequest::new("GET", server.url("/")), &limits())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        TransportError::ResponseTooLarge {
            host: "127.0.0.1".into(),
            limit: 1 << 16
        }
    );
    assert_eq!(
        err.to_string(),
        "response from 127.0.0.1 exceeds the size limit of 65536 bytes; ask for less (--max-items, --page-size, filters)"
    );
}

// ---- The engine: egress through rules and bounds per call ---------------------------------------

fn engine(config: EngineConfig) -> Engine {
    Engine::new(
        EngineConfig {
            region: Some("us-east-1".into()),
            ..config
        },
        None,
    )
    .unwrap()
}

fn quick() -> EngineConfig {
    EngineConfig {
        transport: TransportConfig {
            connect_timeout: Duration::from_secs(2),
            ..TransportConfig::default()
        },
        retry: RetryPolicy::standard()
            .with_base_delay(Duration::from_millis(5))
            .with_max_backoff(Duration::from_millis(20)),
        ..EngineConfig::default()
    }
}

fn call(command: &str) -> OperationCall {
    match Parser::new(&DenyAll).parse(command).unwrap() {
        Command::Call(c) => c,
        other => panic!("not a call: {other:?}"),
    }
}

/// DynamoDB ListTables page `i` (two tables), with a next token unless it is the last.
fn tables_page(i: usize, last: bool) -> Reply {
    let (a, b) = (format!("t{:02}", 2 * i + 1), format!("t{:02}", 2 * i + 2));
    let body = if last {
        json!({"TableNames": [a, b]})
    } else {
        json!({"TableNames": [a, b], "LastEvaluatedTableName": b})
    };
    Reply::status(200, &body.to_string())
}

fn token(last_table: &str) -> String {
    encode_token(
        &["ExclusiveStartTableName".to_string()],
        &[json!(last_table)],
        None,
    )
}

#[tokio::test]
async fn metadata_through_the_endpoint_is_refused_by_the_transport_even_without_a_policy() {
    // No allow-list in the engine (the policy was bypassed): the transport still refuses.
    let e = engine(quick());
    for url in [
        "http://169.254.169.254",
        "http://0xA9FEA9FE",
        "http://[fd00:ec2::254]",
    ] {
        let err = e
            .execute(
                &call(&format!(
                    "aws dynamodb list-tables --no-sign-request --endpoint-url {url}"
                )),
                &DenyAll,
            )
            .await
            .unwrap_err();
        let host = url.trim_start_matches("http://");
        let addr = if host.contains(':') {
            "fd00:ec2::254"
        } else {
            "169.254.169.254"
        };
        match err {
            ExecError::Transport(TransportError::Egress(r)) => {
                assert_eq!(r, refused(host, addr, Forbidden::InstanceMetadata), "{url}")
            }
            other => panic!("{url}: {other:?}"),
        }
    }
    // A configured endpoint (AWS_ENDPOINT_URL) gets the same treatment.
    let configured = portcullis_wire::execute::ConfiguredEndpoints::from_env_vars([(
        "AWS_ENDPOINT_URL".to_string(),
        "http://2852039166".to_string(),
    )]);
    let e = engine(EngineConfig {
        endpoints: configured,
        ..quick()
    });
    let err = e
        .execute(
            &call("aws dynamodb list-tables --no-sign-request"),
            &DenyAll,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ExecError::Transport(TransportError::Egress(r)) if *r == refused("2852039166", "169.254.169.254", Forbidden::InstanceMetadata)),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_engine_allow_list_refuses_endpoints_before_anything_is_sent() {
    let server = Server::start(vec![Reply::status(200, r#"{"TableNames":[]}"#)]).await;
    let e = engine(EngineConfig {
        endpoint_hosts: Some(EndpointAllowList::new(["minio.internal"])),
        ..quick()
    });
    let err = e
        .execute(
            &call("aws dynamodb list-tables --no-sign-request --endpoint-url http://10.0.0.5:8000"),
            &DenyAll,
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "endpoint `http://10.0.0.5:8000`: `10.0.0.5` is neither loopback nor in the endpoint allow-list (the policy's `global_options.endpoint_hosts`)"
    );
    assert!(matches!(err, ExecError::EndpointRefused(_)));
    // Loopback goes through.
    let out = e
        .execute(
            &call(&format!(
                "aws dynamodb list-tables --no-sign-request --endpoint-url {}",
                server.url("")
            )),
            &DenyAll,
        )
        .await
        .unwrap();
    assert_eq!(out.value, json!({"TableNames": []}));
    assert_eq!(out.truncated, None);
}

#[tokio::test]
async fn the_page_cap_returns_what_was_gathered_with_a_token_to_go_on() {
    let server = Server::start((0..10).map(|i| tables_page(i, i == 9)).collect()).await;
    let e = engine(EngineConfig {
        max_pages: 3,
        ..quick()
    });
    let out = e
        .execute(
            &call(&format!(
                "aws dynamodb list-tables --no-sign-request --endpoint-url {}",
                server.url("")
            )),
            &DenyAll,
        )
        .await
        .unwrap();
    let next = token("t06");
    assert_eq!(
        out.value,
        json!({"TableNames": ["t01", "t02", "t03", "t04", "t05", "t06"], "NextToken": next})
    );
    assert_eq!(out.pages, 3);
    assert_eq!(
        out.truncated,
        Some(Truncated {
            by: TruncatedBy::Pages(3),
            pages: 3,
            next_token: Some(next.clone())
        })
    );
    assert_eq!(
        out.truncated.as_ref().unwrap().to_string(),
        format!(
            "[output truncated after 3 page(s): the per-call limit of 3 pages was reached; run the same command with --starting-token {next} to continue]"
        )
    );
    assert_eq!(server.requests().len(), 3);
    // The agent goes on from there.
    let out = e.execute(&call(&format!("aws dynamodb list-tables --no-sign-request --endpoint-url {} --starting-token {next}", server.url(""))), &DenyAll).await.unwrap();
    let sent: serde_json::Value = serde_json::from_slice(&server.requests()[3].body).unwrap();
    assert_eq!(sent, json!({"ExclusiveStartTableName": "t06"}));
    assert_eq!(out.value["TableNames"][0], json!("t07"));
}

#[tokio::test]
async fn the_item_cap_stops_with_a_resumable_token() {
    let server = Server::start((0..10).map(|i| tables_page(i, i == 9)).collect()).await;
    let e = engine(EngineConfig {
        max_items: Some(3),
        ..quick()
    });
    let out = e
        .execute(
            &call(&format!(
                "aws dynamodb list-tables --no-sign-request --endpoint-url {}",
                server.url("")
            )),
            &DenyAll,
        )
        .await
        .unwrap();
    // The second page is cut after one item; the token says where to resume inside it.
    let next = encode_token(
        &["ExclusiveStartTableName".to_string()],
        &[json!("t02")],
        Some(1),
    );
    assert_eq!(
        out.value,
        json!({"TableNames": ["t01", "t02", "t03"], "NextToken": next})
    );
    assert_eq!(
        out.truncated,
        Some(Truncated {
            by: TruncatedBy::Items(3),
            pages: 2,
            next_token: Some(next)
        })
    );
    // The agent's own smaller --max-items is the CLI's behaviour: a NextToken, no marker.
    let out = e
        .execute(
            &call(&format!(
                "aws dynamodb list-tables --no-sign-request --endpoint-url {} --max-items 2",
                server.url("")
            )),
            &DenyAll,
        )
        .await
        .unwrap();
    assert!(out.value.get("NextToken").is_some());
    assert_eq!(out.truncated, None);
}

#[tokio::test]
async fn the_call_byte_budget_stops_paging() {
    let server = Server::start((0..10).map(|i| tables_page(i, i == 9)).collect()).await;
    // Each page is ~60 bytes: the budget is spent after the second.
    let e = engine(EngineConfig {
        max_call_bytes: 100,
        ..quick()
    });
    let out = e
        .execute(
            &call(&format!(
                "aws dynamodb list-tables --no-sign-request --endpoint-url {}",
                server.url("")
            )),
            &DenyAll,
        )
        .await
        .unwrap();
    assert_eq!(out.pages, 2);
    assert!(out.response_bytes >= 100, "{}", out.response_bytes);
    assert_eq!(
        out.truncated,
        Some(Truncated {
            by: TruncatedBy::CallBytes(100),
            pages: 2,
            next_token: Some(token("t04"))
        })
    );
    assert_eq!(out.value["NextToken"], json!(token("t04")));
}

#[tokio::test]
async fn a_huge_page_after_the_first_truncates_with_a_marker() {
    let huge = Reply::status(
        200,
        &json!({"TableNames": ["x".repeat(5000)], "LastEvaluatedTableName": "z"}).to_string(),
    );
    let server = Server::start(vec![tables_page(0, false), huge]).await;
    let e = engine(EngineConfig {
        limits: Limits {
            max_response_bytes: 4096,
            ..Limits::default()
        },
        ..quick()
    });
    let out = e
        .execute(
            &call(&format!(
                "aws dynamodb list-tables --no-sign-request --endpoint-url {}",
                server.url("")
            )),
            &DenyAll,
        )
        .await
        .unwrap();
    assert_eq!(
        out.value,
        json!({"TableNames": ["t01", "t02"], "NextToken": token("t02")})
    );
    assert_eq!(
        out.truncated,
        Some(Truncated {
            by: TruncatedBy::ResponseBytes(4096),
            pages: 1,
            next_token: Some(token("t02"))
        })
    );
    assert!(out.truncated.unwrap().to_string().contains("the next page is larger than the limit of 4096 bytes per response (use a smaller --page-size)"));
}

#[tokio::test]
async fn a_huge_first_response_is_an_error_naming_the_cap() {
    let huge = Reply::status(200, &json!({"TableNames": ["x".repeat(5000)]}).to_string());
    let server = Server::start(vec![huge]).await;
    let e = engine(EngineConfig {
        limits: Limits {
            max_response_bytes: 4096,
            ..Limits::default()
        },
        ..quick()
    });
    let err = e
        .execute(
            &call(&format!(
                "aws dynamodb list-tables --no-sign-request --endpoint-url {}",
                server.url("")
            )),
            &DenyAll,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            ExecError::Transport(TransportError::ResponseTooLarge { limit: 4096, .. })
        ),
        "{err:?}"
    );
    // Not retried: one request.
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_silent_endpoint_hits_the_call_deadline_across_retries() {
    let server = Server::start(vec![Reply::Silent]).await;
    let e = engine(EngineConfig {
        call_deadline: Duration::from_millis(400),
        ..quick()
    });
    let started = Instant::now();
    let err = e
        .execute(
            &call(&format!(
                "aws dynamodb describe-limits --no-sign-request --endpoint-url {}",
                server.url("")
            )),
            &DenyAll,
        )
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(err, ExecError::Deadline(d) if d == Duration::from_millis(400)),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the call did not finish within its deadline of 0.4 s (all attempts and pages); narrow the request (filters, --max-items, --page-size) or ask the operator to raise the per-call deadline"
    );
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_millis(1500),
        "{took:?}"
    );
}

#[tokio::test]
async fn a_trickling_endpoint_hits_the_call_deadline() {
    // Each chunk arrives well within the read timeout; the whole never finishes in time.
    let server = Server::start(vec![Reply::Chunked {
        status: 200,
        chunks: vec![b" ".to_vec(); 100],
        every: Duration::from_millis(50),
    }])
    .await;
    let e = engine(EngineConfig {
        call_deadline: Duration::from_millis(500),
        ..quick()
    });
    let started = Instant::now();
    let err = e
        .execute(
            &call(&format!(
                "aws dynamodb describe-limits --no-sign-request --endpoint-url {}",
                server.url("")
            )),
            &DenyAll,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ExecError::Deadline(d) if d == Duration::from_millis(500)),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_deadline_after_some_pages_returns_them_with_a_token() {
    let server = Server::start(vec![
        tables_page(0, false),
        tables_page(1, false),
        Reply::Silent,
    ])
    .await;
    let e = engine(EngineConfig {
        call_deadline: Duration::from_millis(500),
        ..quick()
    });
    let started = Instant::now();
    let out = e
        .execute(
            &call(&format!(
                "aws dynamodb list-tables --no-sign-request --endpoint-url {}",
                server.url("")
            )),
            &DenyAll,
        )
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_millis(1500));
    assert_eq!(
        out.value,
        json!({"TableNames": ["t01", "t02", "t03", "t04"], "NextToken": token("t04")})
    );
    assert_eq!(
        out.truncated,
        Some(Truncated {
            by: TruncatedBy::Deadline(Duration::from_millis(500)),
            pages: 2,
            next_token: Some(token("t04"))
        })
    );
    assert!(
        out.truncated
            .unwrap()
            .to_string()
            .contains("the per-call deadline of 0.5 s ran out")
    );
}

#[tokio::test]
async fn an_oversized_request_through_the_engine_never_connects() {
    let server = Server::start(vec![Reply::status(200, "{}")]).await;
    let e = engine(EngineConfig {
        limits: Limits {
            max_request_bytes: 64,
            ..Limits::default()
        },
        ..quick()
    });
    let big = "v".repeat(200);
    let command = format!(
        "aws dynamodb put-item --no-sign-request --endpoint-url {} --table-name t --item '{{\"k\":{{\"S\":\"{big}\"}}}}'",
        server.url("")
    );
    let err = e.execute(&call(&command), &DenyAll).await.unwrap_err();
    match err {
        ExecError::Transport(TransportError::RequestTooLarge { host, size, limit }) => {
            assert_eq!((host.as_str(), limit), ("127.0.0.1", 64));
            assert!(size > 200, "{size}");
        }
        other => panic!("{other:?}"),
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(server.connection_count(), 0);
}

#[test]
fn defaults_are_bounded() {
    let c = EngineConfig::default();
    assert_eq!(
        (c.max_pages, c.max_items, c.max_call_bytes, c.call_deadline),
        (100, Some(1000), 64 << 20, Duration::from_secs(60))
    );
    let l = Limits::default();
    assert_eq!(
        (l.max_response_bytes, l.max_request_bytes),
        (64 << 20, 64 << 20)
    );
    assert_eq!(
        TransportConfig::default().connect_timeout,
        Duration::from_secs(10)
    );
}
