//! The opening handshake, both roles: RFC 6455 §4 requirements, limits, and incremental input.

use std::sync::Arc;

use ropeway_core::extension::{ClientExtension, Extension, ExtensionOffer, ServerExtension};
use ropeway_core::handshake::{
    Accept, ClientHandshake, ClientRequest, HandshakeError, RequestReader, UpgradeRequest,
    accept_key, is_websocket_request, reject, write_response,
};
use ropeway_core::{BytesMut, Limits, MessageKind, ProtocolError, ZeroEntropy};

const GOOD: &str = "GET /chat?room=7 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";

fn parse(head: &str) -> Result<UpgradeRequest, HandshakeError> {
    let mut input = BytesMut::from(head.as_bytes());
    let request = RequestReader::new(&Limits::default())
        .recv(&mut input)?
        .expect("complete head");
    UpgradeRequest::from_request(request)
}

fn with(head: &str, from: &str, to: &str) -> String {
    assert!(head.contains(from), "{from}");
    head.replacen(from, to, 1)
}

#[test]
fn the_rfc_example_request_is_accepted_and_exposed() {
    let req = parse(GOOD).unwrap();
    assert_eq!(req.path(), "/chat");
    assert_eq!(req.query(), Some("room=7"));
    assert_eq!(req.origin(), Some("http://example.com"));
    assert_eq!(req.protocols(), ["chat", "superchat"]);
    assert_eq!(req.select_protocol(&["superchat"]), Some("superchat"));
    let response = req.accept(&Accept {
        protocol: Some("chat".into()),
        ..Accept::default()
    });
    let mut out = BytesMut::new();
    write_response(&response, &[], &mut out);
    let text = String::from_utf8(out.to_vec()).unwrap();
    assert!(
        text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{text}"
    );
    assert!(text.contains("sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    assert!(text.contains("sec-websocket-protocol: chat\r\n"));
    assert!(text.ends_with("\r\n\r\n"));
}

#[test]
fn each_requirement_has_its_error_and_status() {
    let cases: [(&str, &str, u16); 10] = [
        ("GET /chat", "POST /chat", 405),
        ("HTTP/1.1\r\nHost", "HTTP/1.0\r\nHost", 400),
        ("Host: server.example.com\r\n", "", 400),
        ("Connection: Upgrade", "Connection: keep-alive", 400),
        (
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Key: c2hvcnQ=",
            400,
        ),
        ("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "", 400),
        ("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8", 426),
        ("Sec-WebSocket-Version: 13\r\n", "", 426),
        ("Upgrade: websocket", "Upgrade: h2c", 400),
        ("Upgrade: websocket\r\n", "", 400),
    ];
    for (from, to, status) in cases {
        let err = parse(&with(GOOD, from, to)).unwrap_err();
        assert_eq!(err.status().as_u16(), status, "{from} -> {to}: {err}");
    }
}

#[test]
fn tokens_are_found_inside_lists_and_case_insensitively() {
    let head = with(
        GOOD,
        "Connection: Upgrade",
        "Connection: keep-alive, UPGRADE",
    );
    let head = with(&head, "Upgrade: websocket", "Upgrade: WebSocket");
    assert!(parse(&head).is_ok());
}

#[test]
fn a_426_tells_the_version() {
    let response = reject(http::StatusCode::UPGRADE_REQUIRED);
    assert_eq!(response.headers()["sec-websocket-version"], "13");
    let mut out = BytesMut::new();
    write_response(&response, b"use version 13", &mut out);
    let text = String::from_utf8(out.to_vec()).unwrap();
    assert!(text.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
    assert!(text.contains("content-length: 14\r\n") && text.ends_with("\r\n\r\nuse version 13"));
}

#[test]
fn plain_requests_are_told_apart() {
    let mut input = BytesMut::from(&b"GET /ws HTTP/1.1\r\nHost: a\r\n\r\n"[..]);
    let request = RequestReader::new(&Limits::default())
        .recv(&mut input)
        .unwrap()
        .unwrap();
    assert!(!is_websocket_request(&request));
    assert!(matches!(
        UpgradeRequest::from_request(request),
        Err(HandshakeError::NotWebSocket)
    ));
}

#[test]
fn a_head_arriving_byte_by_byte_parses_and_keeps_what_follows() {
    let mut bytes = GOOD.as_bytes().to_vec();
    bytes.extend([0x81, 0x80, 1, 2, 3, 4]); // a frame pipelined after the head
    let mut reader = RequestReader::new(&Limits::default());
    let mut input = BytesMut::new();
    let mut request = None;
    for &b in &bytes {
        input.extend_from_slice(&[b]);
        if let Some(r) = reader.recv(&mut input).unwrap() {
            assert!(request.is_none());
            request = Some(r);
        }
    }
    assert!(request.is_some());
    assert_eq!(&input[..], &[0x81, 0x80, 1, 2, 3, 4]);
}

#[test]
fn an_oversized_head_is_refused_with_431_without_buffering_it() {
    let limits = Limits::default();
    let mut reader = RequestReader::new(&limits);
    let mut input = BytesMut::from(GOOD.trim_end_matches("\r\n"));
    input.extend_from_slice(format!("\r\nX-Big: {}", "a".repeat(9000)).as_bytes());
    let err = reader.recv(&mut input).unwrap_err();
    assert_eq!(err.status().as_u16(), 431);

    let many: String = (0..100).map(|i| format!("X-{i}: v\r\n")).collect();
    let err = parse(&with(GOOD, "Origin", &format!("{many}Origin"))).unwrap_err();
    assert!(matches!(err, HandshakeError::TooManyHeaders));
    assert_eq!(err.status().as_u16(), 431);
}

fn extended_connect(
    method: &str,
    version: http::Version,
    headers: &[(&str, &str)],
) -> http::Request<()> {
    let mut request = http::Request::builder()
        .method(method)
        .version(version)
        .uri("https://example.com/ws?room=7");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(()).unwrap()
}

const H2: http::Version = http::Version::HTTP_2;

#[test]
fn http2_extended_connect_is_validated_without_a_key() {
    let request = extended_connect(
        "CONNECT",
        H2,
        &[
            ("sec-websocket-version", "13"),
            ("sec-websocket-protocol", "chat, superchat"),
            ("origin", "https://example.com"),
        ],
    );
    let req = UpgradeRequest::from_extended_connect(request, Some("websocket")).unwrap();
    assert!(req.is_h2());
    assert_eq!(req.http_version(), H2);
    assert_eq!(req.path(), "/ws");
    assert_eq!(req.query(), Some("room=7"));
    assert_eq!(req.origin(), Some("https://example.com"));
    assert_eq!(req.select_protocol(&["superchat"]), Some("superchat"));
    let response = req.accept(&Accept {
        protocol: Some("chat".into()),
        ..Accept::default()
    });
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), H2);
    assert_eq!(response.headers()["sec-websocket-protocol"], "chat");
    for absent in ["sec-websocket-accept", "upgrade", "connection"] {
        assert!(response.headers().get(absent).is_none(), "{absent}");
    }
    let get = extended_connect("GET", H2, &[("sec-websocket-version", "13")]);
    assert!(UpgradeRequest::from_h2_connect(get).is_err());
}

#[test]
fn http2_extended_connect_errors_have_their_statuses() {
    let v13 = [("sec-websocket-version", "13")];
    let status = |request, protocol: Option<&str>| {
        let err = UpgradeRequest::from_extended_connect(request, protocol).unwrap_err();
        (err.status().as_u16(), err)
    };
    // A plain CONNECT (a proxy tunnel, no `:protocol`) is not a WebSocket request.
    let (code, err) = status(extended_connect("CONNECT", H2, &v13), None);
    assert_eq!(code, 400);
    assert!(matches!(err, HandshakeError::NotWebSocket));
    // An unknown `:protocol`: well-formed, but not implemented here.
    let (code, err) = status(extended_connect("CONNECT", H2, &v13), Some("webtransport"));
    assert_eq!(code, 501);
    assert!(matches!(err, HandshakeError::UnsupportedProtocol(p) if p == "webtransport"));
    // Upgrade tokens compare case-insensitively.
    assert!(
        UpgradeRequest::from_extended_connect(
            extended_connect("CONNECT", H2, &v13),
            Some("WebSocket")
        )
        .is_ok()
    );
    // `:protocol` exists only in HTTP/2.
    let http11 = extended_connect("CONNECT", http::Version::HTTP_11, &v13);
    let (code, err) = status(http11, Some("websocket"));
    assert_eq!(code, 400);
    assert!(matches!(err, HandshakeError::NotHttp2));
    // A wrong or missing version: 426, and the rejection names version 13.
    for version in [&[("sec-websocket-version", "8")][..], &[]] {
        let (code, _) = status(extended_connect("CONNECT", H2, version), Some("websocket"));
        assert_eq!(code, 426);
        let answer = reject(http::StatusCode::from_u16(code).unwrap());
        assert_eq!(answer.headers()["sec-websocket-version"], "13");
    }
    let twice = [
        ("sec-websocket-version", "13"),
        ("sec-websocket-version", "13"),
    ];
    let (code, err) = status(extended_connect("CONNECT", H2, &twice), Some("websocket"));
    assert_eq!(code, 400);
    assert!(matches!(err, HandshakeError::DuplicateHeader(_)));
    let body = [("sec-websocket-version", "13"), ("content-length", "5")];
    let (code, err) = status(extended_connect("CONNECT", H2, &body), Some("websocket"));
    assert_eq!(code, 400);
    assert!(matches!(err, HandshakeError::UnexpectedBody));
    let (code, _) = status(extended_connect("POST", H2, &v13), Some("websocket"));
    assert_eq!(code, 405);
}

/// Adapters that parse the head themselves (hyper, axum, HTTP/2) hand the core a request
/// with every header line: the core refuses ambiguous framing there too.
#[test]
fn upgrades_parsed_elsewhere_are_refused_for_differing_content_lengths() {
    let http11 = http::Request::get("/chat")
        .header("host", "server.example.com")
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-version", "13")
        .header("content-length", "0")
        .header("content-length", "7")
        .body(())
        .unwrap();
    let h2 = extended_connect(
        "CONNECT",
        H2,
        &[
            ("sec-websocket-version", "13"),
            ("content-length", "0"),
            ("content-length", "7"),
        ],
    );
    for result in [
        UpgradeRequest::from_request(http11),
        UpgradeRequest::from_extended_connect(h2, Some("websocket")),
    ] {
        let err = result.unwrap_err();
        assert!(matches!(err, HandshakeError::InvalidFraming(_)), "{err:?}");
        assert_eq!(err.status(), 400);
        assert_eq!(
            err.to_string(),
            "invalid message framing: Content-Length values differ"
        );
    }
}

#[test]
fn http2_extended_connect_routes_like_an_upgrade_origin_subprotocol_extensions() {
    use ropeway_core::ServerConfig;
    use ropeway_core::handshake::accept_request;
    let request = || {
        extended_connect(
            "CONNECT",
            H2,
            &[
                ("sec-websocket-version", "13"),
                ("origin", "https://evil.example"),
                ("sec-websocket-protocol", "chat"),
                ("sec-websocket-extensions", "x-probe"),
            ],
        )
    };
    let config = ServerConfig {
        allowed_origins: vec!["https://good.example".into()],
        ..ServerConfig::default()
    };
    let upgrade = UpgradeRequest::from_extended_connect(request(), Some("websocket")).unwrap();
    let err = accept_request(&upgrade, Accept::default(), &config).unwrap_err();
    assert_eq!(err.status().as_u16(), 403);

    let config = ServerConfig {
        extensions: vec![Arc::new(Probe {
            accept_params: true,
        }) as Arc<dyn ServerExtension>],
        ..ServerConfig::default()
    };
    let upgrade = UpgradeRequest::from_extended_connect(request(), Some("websocket")).unwrap();
    let wrong = Accept {
        protocol: Some("superchat".into()),
        ..Accept::default()
    };
    let err = accept_request(&upgrade, wrong, &config).unwrap_err();
    assert_eq!(err.status().as_u16(), 500);
    let accept = Accept {
        protocol: Some("chat".into()),
        ..Accept::default()
    };
    let accepted = accept_request(&upgrade, accept, &config).unwrap();
    assert_eq!(accepted.response.status(), 200);
    assert_eq!(
        accepted.response.headers()["sec-websocket-extensions"],
        "x-probe"
    );
    assert_eq!(accepted.protocol.as_deref(), Some("chat"));
    assert!(accepted.extension.is_some());
}

#[test]
fn http2_client_extended_connect_request_and_answers() {
    use ropeway_core::handshake::ExtendedConnect;
    let request = ClientRequest::from_url("wss://example.com:8443/ws?x=1")
        .unwrap()
        .protocol("chat")
        .header(http::header::ORIGIN, "https://example.com".parse().unwrap());
    let probe = Arc::new(Probe {
        accept_params: true,
    }) as Arc<dyn ClientExtension>;
    let (connect, head) = ExtendedConnect::new(&request, vec![probe]).unwrap();
    assert_eq!(head.method(), http::Method::CONNECT);
    assert_eq!(head.version(), H2);
    assert_eq!(head.uri().to_string(), "https://example.com:8443/ws?x=1");
    assert_eq!(head.headers()["sec-websocket-version"], "13");
    assert_eq!(head.headers()["sec-websocket-protocol"], "chat");
    assert_eq!(
        head.headers()["sec-websocket-extensions"],
        "x-probe; p=1, x-probe"
    );
    assert_eq!(head.headers()["origin"], "https://example.com");
    assert!(head.headers().get("sec-websocket-key").is_none());

    // The server side accepts exactly this request, and the client accepts its answer.
    let config = ropeway_core::ServerConfig {
        extensions: vec![Arc::new(Probe {
            accept_params: true,
        }) as Arc<dyn ServerExtension>],
        ..ropeway_core::ServerConfig::default()
    };
    let upgrade = UpgradeRequest::from_extended_connect(head, Some("websocket")).unwrap();
    let accept = Accept {
        protocol: upgrade.select_protocol(&["chat"]).map(str::to_owned),
        ..Accept::default()
    };
    let answer = ropeway_core::handshake::accept_request(&upgrade, accept, &config).unwrap();
    let accepted = connect.recv_response(answer.response).unwrap();
    assert_eq!(accepted.protocol.as_deref(), Some("chat"));
    assert!(accepted.extension.is_some());

    let answer = |status: u16, headers: &[(&str, &str)]| {
        let mut response = http::Response::builder().status(status);
        for (name, value) in headers {
            response = response.header(*name, *value);
        }
        connect.recv_response(response.body(()).unwrap())
    };
    match answer(426, &[("sec-websocket-version", "13")]) {
        Err(HandshakeError::Rejected { status, headers }) => {
            assert_eq!(status, 426);
            assert_eq!(headers["sec-websocket-version"], "13");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        answer(200, &[("sec-websocket-protocol", "other")]),
        Err(HandshakeError::UnexpectedProtocol(_))
    ));
    assert!(matches!(
        answer(200, &[("sec-websocket-extensions", "permessage-foo")]),
        Err(HandshakeError::UnexpectedExtension(_))
    ));
    assert!(answer(200, &[]).unwrap().extension.is_none());
}

/// A do-nothing extension that claims RSV2, to exercise negotiation.
struct Probe {
    accept_params: bool,
}
struct ProbeExt;
impl Extension for ProbeExt {
    fn name(&self) -> &str {
        "x-probe"
    }
    fn reserved_bits(&self) -> u8 {
        0b010
    }
    fn decode_start(&mut self, rsv: u8) -> bool {
        rsv & 0b010 != 0
    }
    fn decode(
        &mut self,
        input: &[u8],
        _: bool,
        out: &mut BytesMut,
        max: usize,
    ) -> Result<(), ProtocolError> {
        if input.len() > max {
            return Err(ProtocolError::MessageTooLarge { max });
        }
        out.extend(input.iter().rev());
        Ok(())
    }
    fn encode_start(&mut self, _: MessageKind, _: Option<usize>) -> Option<u8> {
        Some(0b010)
    }
    fn encode(&mut self, input: &[u8], _: bool, out: &mut BytesMut) {
        out.extend(input.iter().rev());
    }
}
impl ServerExtension for Probe {
    fn name(&self) -> &str {
        "x-probe"
    }
    fn negotiate(
        &self,
        offers: &[&ExtensionOffer],
    ) -> Option<(ExtensionOffer, Box<dyn Extension>)> {
        let offer = offers
            .iter()
            .find(|o| self.accept_params || o.params.is_empty())?;
        Some(((*offer).clone(), Box::new(ProbeExt)))
    }
}
impl ClientExtension for Probe {
    fn name(&self) -> &str {
        "x-probe"
    }
    fn offers(&self) -> Vec<ExtensionOffer> {
        vec![
            ExtensionOffer::new("x-probe").param("p", Some("1".into())),
            ExtensionOffer::new("x-probe"),
        ]
    }
    fn accept(&self, answer: &ExtensionOffer) -> Result<Box<dyn Extension>, String> {
        if answer.params.iter().any(|(n, _)| n != "p") {
            return Err("unknown parameter".into());
        }
        Ok(Box::new(ProbeExt))
    }
}

#[test]
fn server_negotiation_takes_the_first_offer_it_honours_and_declines_the_rest() {
    let head = with(
        GOOD,
        "Origin",
        "Sec-WebSocket-Extensions: x-probe; p=1, x-probe, other\r\nOrigin",
    );
    let req = parse(&head).unwrap();
    assert_eq!(req.extensions().len(), 3);
    let picky: Arc<dyn ServerExtension> = Arc::new(Probe {
        accept_params: false,
    });
    let (answer, _) = req.negotiate(&[picky]).unwrap();
    assert_eq!(answer.to_string(), "x-probe");
    // Malformed offers are declined, not refused.
    let head = with(
        GOOD,
        "Origin",
        "Sec-WebSocket-Extensions: x-probe; =;\r\nOrigin",
    );
    let req = parse(&head).unwrap();
    assert!(req.extensions().is_empty());
}

/// Runs a client handshake against `respond`, which gets the request and returns the raw
/// response bytes.
fn client_against(
    extensions: Vec<Arc<dyn ClientExtension>>,
    respond: impl FnOnce(&UpgradeRequest) -> String,
) -> Result<ropeway_core::handshake::ClientAccepted, HandshakeError> {
    let request = ClientRequest::from_url("ws://example.com:9000/chat?x=1")
        .unwrap()
        .protocol("chat");
    let mut out = BytesMut::new();
    let mut client = ClientHandshake::new(
        &request,
        extensions,
        &mut ZeroEntropy,
        &Limits::default(),
        &mut out,
    );
    let text = String::from_utf8(out.to_vec()).unwrap();
    assert!(
        text.starts_with("GET /chat?x=1 HTTP/1.1\r\nhost: example.com:9000\r\n"),
        "{text}"
    );
    let req = parse(&text).unwrap();
    let mut input = BytesMut::from(respond(&req).as_bytes());
    client
        .recv(&mut input)
        .map(|r| r.expect("complete response"))
}

fn ok_response(req: &UpgradeRequest, extra: &str) -> String {
    let key = req.headers()["sec-websocket-key"].to_str().unwrap();
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Accept: {}\r\n{extra}\r\n",
        accept_key(key.as_bytes())
    )
}

#[test]
fn client_says_use_wss_when_the_server_answers_with_tls() {
    // A TLS alert (0x15) and a TLS handshake record (0x16) where the status line belongs.
    for record in ["\x15\x03\x03\x00\x02\x02\x32", "\x16\x03\x01\x00\x05hello"] {
        let result = client_against(vec![], |_| record.to_owned());
        assert!(
            matches!(result, Err(HandshakeError::ServerSpeaksTls)),
            "{result:?}"
        );
    }
}

#[test]
fn the_connection_knows_the_agreed_protocol_and_extensions() {
    let probe: Arc<dyn ClientExtension> = Arc::new(Probe {
        accept_params: true,
    });
    let accepted = client_against(vec![probe], |req| {
        ok_response(
            req,
            "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: x-probe; p=2\r\n",
        )
    })
    .unwrap();
    let now = std::time::Instant::now();
    let (conn, _) =
        accepted.into_connection(&ropeway_core::Config::default(), Box::new(ZeroEntropy), now);
    assert_eq!(conn.protocol(), Some("chat"));
    assert_eq!(
        conn.negotiated_extensions(),
        [ExtensionOffer::new("x-probe").param("p", Some("2".into()))]
    );
    // Nothing agreed: nothing to report.
    let plain = client_against(vec![], |req| ok_response(req, "")).unwrap();
    let (conn, _) =
        plain.into_connection(&ropeway_core::Config::default(), Box::new(ZeroEntropy), now);
    assert_eq!(conn.protocol(), None);
    assert!(conn.negotiated_extensions().is_empty());
}

#[test]
fn client_accepts_a_valid_response() {
    let accepted = client_against(vec![], |req| {
        ok_response(req, "Sec-WebSocket-Protocol: chat\r\n")
    })
    .unwrap();
    assert_eq!(accepted.protocol.as_deref(), Some("chat"));
    assert_eq!(accepted.response.status(), 101);
}

#[test]
fn client_rejects_each_bad_response() {
    let bad_accept = client_against(vec![], |_| {
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n".into()
    });
    assert!(matches!(bad_accept, Err(HandshakeError::InvalidAccept)));
    let no_upgrade = client_against(vec![], |req| {
        ok_response(req, "").replace("Upgrade: WebSocket\r\n", "")
    });
    assert!(matches!(
        no_upgrade,
        Err(HandshakeError::ResponseMissingUpgrade)
    ));
    let no_conn = client_against(vec![], |req| {
        ok_response(req, "").replace("keep-alive, Upgrade", "keep-alive")
    });
    assert!(matches!(
        no_conn,
        Err(HandshakeError::MissingConnectionUpgrade)
    ));
    let protocol = client_against(vec![], |req| {
        ok_response(req, "Sec-WebSocket-Protocol: other\r\n")
    });
    assert!(matches!(protocol, Err(HandshakeError::UnexpectedProtocol(p)) if p == "other"));
    let ext = client_against(vec![], |req| {
        ok_response(req, "Sec-WebSocket-Extensions: permessage-deflate\r\n")
    });
    assert!(matches!(ext, Err(HandshakeError::UnexpectedExtension(_))));
}

#[test]
fn client_keeps_status_and_headers_of_a_refusal() {
    let refused = client_against(vec![], |_| {
        "HTTP/1.1 403 Forbidden\r\nX-Reason: origin\r\nContent-Length: 0\r\n\r\n".into()
    });
    match refused {
        Err(HandshakeError::Rejected { status, headers }) => {
            assert_eq!(status, 403);
            assert_eq!(headers["x-reason"], "origin");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn client_extension_answers_are_checked_by_the_extension() {
    let probe: Arc<dyn ClientExtension> = Arc::new(Probe {
        accept_params: true,
    });
    let ok = client_against(vec![probe.clone()], |req| {
        assert_eq!(
            req.headers()["sec-websocket-extensions"],
            "x-probe; p=1, x-probe"
        );
        ok_response(req, "Sec-WebSocket-Extensions: x-probe; p=1\r\n")
    });
    assert_eq!(ok.unwrap().extension.unwrap().name(), "x-probe");
    let bad_param = client_against(vec![probe.clone()], |req| {
        ok_response(req, "Sec-WebSocket-Extensions: x-probe; q\r\n")
    });
    assert!(matches!(
        bad_param,
        Err(HandshakeError::UnexpectedExtension(_))
    ));
    let twice = client_against(vec![probe], |req| {
        ok_response(req, "Sec-WebSocket-Extensions: x-probe, x-probe\r\n")
    });
    assert!(matches!(twice, Err(HandshakeError::UnexpectedExtension(_))));
}

#[test]
fn urls_are_parsed_for_both_schemes() {
    let r = ClientRequest::from_url("wss://example.com/").unwrap();
    assert_eq!(
        (r.host(), r.port(), r.is_secure(), r.resource()),
        ("example.com", 443, true, "/")
    );
    let r = ClientRequest::from_url("ws://[::1]:8080").unwrap();
    assert_eq!((r.host(), r.port(), r.resource()), ("::1", 8080, "/"));
    for bad in ["ftp://x/", "ws://", "not a url", "/relative"] {
        assert!(ClientRequest::from_url(bad).is_err(), "{bad}");
    }
}

/// The server's whole sequence, bytes in to answer bytes out, for each decision it makes.
mod server_handshake {
    use super::*;
    use ropeway_core::ServerConfig;
    use ropeway_core::handshake::ServerHandshake;

    fn answer(head: &str, config: &ServerConfig, accept: Accept) -> (String, bool) {
        let mut handshake = ServerHandshake::new(config);
        let mut input = BytesMut::from(head.as_bytes());
        let accepted = match handshake.recv(&mut input, config) {
            Ok(Some(request)) => handshake.accept(&request, accept, config).is_ok(),
            Ok(None) => panic!("incomplete head"),
            Err(_) => false,
        };
        (
            String::from_utf8_lossy(handshake.output()).into_owned(),
            accepted,
        )
    }

    #[test]
    fn a_tls_client_hello_on_the_plain_port_is_answered_at_once() {
        let config = ServerConfig::default();
        let mut handshake = ServerHandshake::new(&config);
        // The first bytes of a ClientHello: a handshake record of TLS 1.0-1.3, no CRLFs.
        let mut input = BytesMut::from(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00][..]);
        let result = handshake.recv(&mut input, &config);
        assert!(
            matches!(result, Err(HandshakeError::ClientSpeaksTls)),
            "{result:?}"
        );
        let answer = String::from_utf8_lossy(handshake.output()).into_owned();
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert!(answer.contains("use ws://"), "{answer}");
    }

    #[test]
    fn a_subprotocol_the_client_did_not_offer_is_refused_with_500_not_accepted() {
        let config = ServerConfig::default();
        let unoffered = Accept {
            protocol: Some("chat.v2".into()),
            ..Accept::default()
        };
        let (out, accepted) = answer(GOOD, &config, unoffered.clone());
        assert!(!accepted);
        assert!(out.starts_with("HTTP/1.1 500"), "{out}");
        assert!(
            !out.to_ascii_lowercase().contains("sec-websocket-protocol"),
            "{out}"
        );
        let none_offered = with(GOOD, "Sec-WebSocket-Protocol: chat, superchat\r\n", "");
        let (out, accepted) = answer(&none_offered, &config, unoffered);
        assert!(!accepted && out.starts_with("HTTP/1.1 500"), "{out}");
        let offered = Accept {
            protocol: Some("superchat".into()),
            ..Accept::default()
        };
        let (out, accepted) = answer(GOOD, &config, offered);
        assert!(accepted && out.starts_with("HTTP/1.1 101"), "{out}");
        assert!(out.contains("sec-websocket-protocol: superchat"), "{out}");
    }

    #[test]
    fn duplicated_single_headers_and_bodies_are_refused_with_400() {
        let config = ServerConfig {
            allowed_origins: vec!["http://example.com".into()],
            ..ServerConfig::default()
        };
        let cases = [
            // The first Origin is allowed, the second is not: neither may be guessed at.
            with(
                GOOD,
                "Origin: http://example.com\r\n",
                "Origin: http://example.com\r\nOrigin: https://evil.example\r\n",
            ),
            with(
                GOOD,
                "Host: server.example.com\r\n",
                "Host: server.example.com\r\nHost: other.example\r\n",
            ),
            with(
                GOOD,
                "Sec-WebSocket-Version: 13\r\n",
                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Version: 13\r\n",
            ),
            with(
                GOOD,
                "Upgrade: websocket\r\n",
                "Upgrade: websocket\r\nUpgrade: websocket\r\n",
            ),
            with(GOOD, "Host:", "Content-Length: 5\r\nHost:"),
            with(GOOD, "Host:", "Transfer-Encoding: chunked\r\nHost:"),
        ];
        for head in cases {
            let (out, accepted) = answer(&head, &config, Accept::default());
            assert!(
                !accepted && out.starts_with("HTTP/1.1 400"),
                "{head}\n{out}"
            );
        }
        let empty_body = with(GOOD, "Host:", "Content-Length: 0\r\nHost:");
        assert!(answer(&empty_body, &config, Accept::default()).1);
    }

    /// What `recv` alone makes of `head`: what it returns and the answer it queued. Every
    /// runtime calls it on every request, a page as much as an upgrade.
    fn received(head: &str) -> (Result<Option<http::Request<()>>, HandshakeError>, String) {
        let config = ServerConfig::default();
        let mut handshake = ServerHandshake::new(&config);
        let mut input = BytesMut::from(head.as_bytes());
        let result = handshake.recv(&mut input, &config);
        let out = String::from_utf8_lossy(handshake.output()).into_owned();
        (result, out)
    }

    /// A plain request's head up to its last header line.
    const PAGE: &str = "GET / HTTP/1.1\r\nHost: a\r\n";

    /// Asserts that `recv` refuses `head` with 400 and the reason `why`, and that an upgrade
    /// among them is not answered with 101 either.
    fn assert_framing_refused(head: &str, why: &str) {
        let (result, out) = received(head);
        assert!(out.starts_with("HTTP/1.1 400"), "{head}\n{out}");
        assert!(
            out.ends_with(&format!("\r\n\r\ninvalid message framing: {why}\n")),
            "{head}\n{out}"
        );
        assert!(
            matches!(result, Err(HandshakeError::InvalidFraming(w)) if w == why),
            "{head}\n{result:?}"
        );
        let (out, accepted) = answer(head, &ServerConfig::default(), Accept::default());
        assert!(
            !accepted && out.starts_with("HTTP/1.1 400"),
            "{head}\n{out}"
        );
    }

    #[test]
    fn differing_content_lengths_are_refused_with_400_on_pages_and_upgrades() {
        for head in [
            format!("{PAGE}Content-Length: 5\r\nContent-Length: 50\r\n\r\n"),
            format!("{PAGE}Content-Length: 5, 50\r\n\r\n"),
            with(
                GOOD,
                "Host:",
                "Content-Length: 0\r\nContent-Length: 7\r\nHost:",
            ),
            with(GOOD, "Host:", "Content-Length: 0, 7\r\nHost:"),
        ] {
            assert_framing_refused(&head, "Content-Length values differ");
        }
    }

    #[test]
    fn content_length_with_transfer_encoding_is_refused_with_400_on_pages_and_upgrades() {
        for head in [
            format!("{PAGE}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
            format!("{PAGE}Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n"),
            with(
                GOOD,
                "Host:",
                "Transfer-Encoding: chunked\r\nContent-Length: 0\r\nHost:",
            ),
        ] {
            assert_framing_refused(&head, "both Transfer-Encoding and Content-Length");
        }
    }

    #[test]
    fn an_invalid_content_length_is_refused_with_400_on_pages_and_upgrades() {
        // `+5` and `-0` parse as Rust integers but are not `1*DIGIT`; the last is 2^64.
        for value in [
            "abc",
            "+5",
            "-0",
            "5x",
            "",
            "5,,5",
            "0x10",
            "18446744073709551616",
        ] {
            let field = format!("Content-Length: {value}\r\n");
            assert_framing_refused(
                &format!("{PAGE}{field}\r\n"),
                "Content-Length is not a number",
            );
            let upgrade = with(GOOD, "Host:", &format!("{field}Host:"));
            assert_framing_refused(&upgrade, "Content-Length is not a number");
        }
    }

    #[test]
    fn identical_repeated_content_lengths_count_as_one() {
        for head in [
            format!("{PAGE}Content-Length: 5\r\nContent-Length: 5\r\n\r\n"),
            format!("{PAGE}Content-Length: 5, 5\r\n\r\n"),
        ] {
            let (result, out) = received(&head);
            assert!(
                matches!(result, Ok(Some(_))) && out.is_empty(),
                "{head}\n{out}"
            );
        }
        for empty in [
            "Content-Length: 0\r\nContent-Length: 0\r\n",
            "Content-Length: 0, 0\r\n",
        ] {
            let head = with(GOOD, "Host:", &format!("{empty}Host:"));
            let (out, accepted) = answer(&head, &ServerConfig::default(), Accept::default());
            assert!(accepted && out.starts_with("HTTP/1.1 101"), "{head}\n{out}");
        }
    }

    #[test]
    fn a_head_with_bare_line_feeds_is_parsed_at_once() {
        let config = ServerConfig::default();
        let bare = GOOD.replace("\r\n", "\n");
        let mut handshake = ServerHandshake::new(&config);
        let mut input = BytesMut::from(bare.as_bytes());
        let request = handshake.recv(&mut input, &config).unwrap();
        assert!(
            request.is_some(),
            "the empty line ends the head without a CR"
        );
        assert!(input.is_empty());
    }

    #[test]
    fn each_refusal_is_answered_with_its_status() {
        let config = ServerConfig {
            allowed_origins: vec!["https://good.example".into()],
            ..ServerConfig::default()
        };
        let good = with(
            GOOD,
            "Origin: http://example.com",
            "Origin: https://good.example",
        );
        let cases = [
            (GOOD.to_owned(), "403"),
            (good.clone(), "101"),
            (
                with(
                    &good,
                    "Sec-WebSocket-Version: 13",
                    "Sec-WebSocket-Version: 8",
                ),
                "426",
            ),
            (
                with(
                    &good,
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                    "Sec-WebSocket-Key: x",
                ),
                "400",
            ),
            (
                with(&good, "Host:", &format!("X: {}\r\nHost:", "a".repeat(9000))),
                "431",
            ),
        ];
        for (head, status) in cases {
            let (out, _) = answer(&head, &config, Accept::default());
            assert!(
                out.starts_with(&format!("HTTP/1.1 {status}")),
                "{status}: {out}"
            );
        }
    }
}
