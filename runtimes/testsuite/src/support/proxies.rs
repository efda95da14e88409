//! Real proxies for the proxy tests: tinyproxy (HTTP `CONNECT`, Basic auth) and microsocks
//! (SOCKS5, username/password), each started on a free loopback port with a generated
//! configuration in a directory of its own, and stopped when its guard is dropped.
//! `tests-peers/proxies/install.sh` installs them (scripts/test runs it).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ropeway_common::{ClientConfig, Proxy};

use super::proxy_errors::SHORT_CONNECT_TIMEOUT;
use crate::TestRuntime;
use crate::support::loopback::ServeOne;

/// How long a proxy may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(5);

/// A proxy process; dropping it kills the process and removes its directory.
#[derive(Debug)]
pub struct ProxyProcess {
    child: Child,
    addr: SocketAddr,
    dir: Option<PathBuf>,
}

impl ProxyProcess {
    /// Where the proxy listens (127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The proxy's URL with `scheme` (`http`, `socks5h`) and `credentials` in it.
    pub fn url(&self, scheme: &str, credentials: Option<(&str, &str)>) -> String {
        match credentials {
            Some((user, pass)) => format!("{scheme}://{user}:{pass}@{}", self.addr),
            None => format!("{scheme}://{}", self.addr),
        }
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A free port on 127.0.0.1 (the proxy binds it a moment later; another process taking it
/// in between makes the start fail visibly, not wrongly).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// `program`, or a panic naming the install script.
fn program(name: &str) -> PathBuf {
    let path = ["/usr/bin", "/usr/sbin", "/usr/local/bin"]
        .iter()
        .map(|dir| PathBuf::from(dir).join(name))
        .find(|p| p.exists());
    path.unwrap_or_else(|| {
        panic!("{name} is missing: run `bash tests-peers/proxies/install.sh` (scripts/test does)")
    })
}

/// Starts `command`, and waits until `addr` accepts connections.
fn start(mut command: Command, addr: SocketAddr, dir: Option<PathBuf>) -> ProxyProcess {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the proxy");
    let mut proxy = ProxyProcess { child, addr, dir };
    let deadline = Instant::now() + START_TIMEOUT;
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Ok(Some(status)) = proxy.child.try_wait() {
            panic!("the proxy {command:?} exited at start: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "the proxy {command:?} did not listen within {START_TIMEOUT:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    proxy
}

/// tinyproxy on a free port, with `BasicAuth` when `credentials` are given.
pub fn tinyproxy(credentials: Option<(&str, &str)>) -> ProxyProcess {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let port = free_port();
    let dir = std::env::temp_dir().join(format!(
        "ropeway-tinyproxy-{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("a directory for the proxy's config");
    // No ConnectPort line: CONNECT to every port (the test servers' ports are random).
    let mut config = format!(
        "Port {port}\nListen 127.0.0.1\nTimeout 10\nMaxClients 20\nAllow 127.0.0.1\nLogLevel Critical\n"
    );
    if let Some((user, pass)) = credentials {
        config.push_str(&format!("BasicAuth {user} {pass}\n"));
    }
    let file = dir.join("tinyproxy.conf");
    std::fs::write(&file, config).expect("write the proxy's config");
    let mut command = Command::new(program("tinyproxy"));
    // -d: stay in the foreground, so the guard's kill stops it.
    command.arg("-d").arg("-c").arg(&file);
    start(command, SocketAddr::from(([127, 0, 0, 1], port)), Some(dir))
}

/// microsocks on a free port, requiring `credentials` when given.
pub fn microsocks(credentials: Option<(&str, &str)>) -> ProxyProcess {
    let port = free_port();
    let mut command = Command::new(program("microsocks"));
    command.args(["-i", "127.0.0.1", "-p", &port.to_string()]);
    if let Some((user, pass)) = credentials {
        command.args(["-u", user, "-P", pass]);
    }
    start(command, SocketAddr::from(([127, 0, 0, 1], port)), None)
}

/// A port on 127.0.0.1 where nothing listens (a listener bound and closed at once).
pub fn closed_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

/// `config` going through the proxy at `proxy_url`.
pub fn through(proxy_url: &str, config: ClientConfig) -> ClientConfig {
    config.with_proxy(Proxy::parse(proxy_url).expect("proxy URL"))
}

/// The default configuration through `proxy_url`, with a short connect timeout
/// ([`SHORT_CONNECT_TIMEOUT`]).
pub fn impatient(proxy_url: &str) -> ClientConfig {
    let config = ClientConfig {
        connect_timeout: SHORT_CONNECT_TIMEOUT,
        ..ClientConfig::default()
    };
    through(proxy_url, config)
}

/// An `https://` proxy in the test (no Debian proxy listens with TLS): TLS with `cert` for
/// `localhost`, then `CONNECT` inside it, a TCP connection to the target, and bytes copied
/// both ways. Serves one client.
pub async fn https_proxy<T: TestRuntime>(
    cert: rustls::pki_types::CertificateDer<'static>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
) -> SocketAddr {
    let config = crate::support::tls::server_config(cert, key);
    let (addr, task) = T::serve_one(move |tcp| async move {
        let mut tls = T::tls_accept(config, tcp)
            .await
            .expect("TLS from the client");
        let mut head = bytes::BytesMut::new();
        while !head.ends_with(b"\r\n\r\n") {
            let n = std::future::poll_fn(|cx| {
                <T::Rt as ropeway_async::Io<T::TlsServer>>::poll_read_buf(
                    std::pin::Pin::new(&mut tls),
                    cx,
                    &mut head,
                )
            })
            .await
            .expect("the CONNECT request");
            assert!(n > 0, "the client closed before its CONNECT");
        }
        let head = String::from_utf8(head.to_vec()).unwrap();
        let target = head.split(' ').nth(1).expect("CONNECT target").to_owned();
        let target: SocketAddr = target.replace("localhost", "127.0.0.1").parse().unwrap();
        let mut upstream = T::connect_tcp(target).await.expect("the target");
        crate::support::pipe::write_all::<T::Rt, _>(
            &mut tls,
            b"HTTP/1.1 200 Connection established\r\n\r\n",
        )
        .await;
        crate::support::pipe::copy_both_ways::<T::Rt, _, _>(&mut tls, &mut upstream).await;
        head
    })
    .await;
    drop(task);
    addr
}
