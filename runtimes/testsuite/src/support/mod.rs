//! The helpers the cases share: a bounded test body, servers and clients on 127.0.0.1, a
//! raw peer that speaks frames byte by byte, frame and HTTP builders, payload generators
//! and TLS certificates.

pub mod bounded;
pub mod frames;
pub mod http_head;
pub mod loopback;
pub mod messages;
pub mod payloads;
pub mod pipe;
pub mod proxies;
pub mod proxy_errors;
pub mod raw_peer;
#[path = "../../../../backplane/redis/tests/support/redis_server.rs"]
pub mod redis_server;
pub mod tls;
