//! WebSockets over HTTP/2 with peers nobody here wrote: Python's sans-IO `h2` (HTTP/2) and
//! `wsproto` (WebSocket framing), as a client of `ropeway_tokio::h2::serve` and as a server
//! for the ropeway HTTP/2 client (tests-peers/h2). Ignored by default: they need the Python
//! peers installed, which `scripts/test` does first (tests-peers/python/install.sh).
#![cfg(feature = "h2")]

mod common;
mod h2_support;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use h2_support::*;
use http::Version;
use ropeway_tokio::h2::{H2Client, H2Options};
use ropeway_tokio::{ClientConfig, ClientRequest, CloseFrame, Message};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const PEER_TEST_TIMEOUT: Duration = Duration::from_secs(120);

fn peer_script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests-peers/h2")
        .join(name)
}

/// The peers' Python (tests-peers/python/install.sh makes the venv with h2 and wsproto).
fn python() -> PathBuf {
    let python =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests-peers/python/.venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `bash tests-peers/python/install.sh` (scripts/test does)",
        python.display()
    );
    python
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Python h2 + wsproto (tests-peers/python/install.sh): run scripts/test"]
async fn python_h2_wsproto_client_against_the_ropeway_http2_server() {
    bounded_for(PEER_TEST_TIMEOUT, async {
        let mut server = spawn_default().await;
        let streams = 10;
        let output = Command::new(python())
            .arg(peer_script("client_h2_ws.py"))
            .arg("127.0.0.1")
            .arg(server.addr.port().to_string())
            .args(["--streams", &streams.to_string()])
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && stdout.contains("PASS"),
            "client_h2_ws.py failed ({}):\n{stdout}\n{stderr}",
            output.status
        );
        println!("{stdout}");
        // The server saw every WebSocket arrive over HTTP/2 and end with the client's 1000.
        for _ in 0..streams {
            let (version, ended) = server.seen.recv().await.unwrap();
            assert_eq!(version, Version::HTTP_2);
            assert_eq!(ended.unwrap().unwrap().code.0, 1000);
        }
    })
    .await;
}

/// `server_h2_ws.py` on a free port; it exits when its stdin closes (and is killed if it
/// lingers).
struct PythonH2Server {
    child: Child,
    port: u16,
}

impl PythonH2Server {
    async fn start() -> Self {
        let mut child = Command::new(python())
            .arg(peer_script("server_h2_ws.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).await.unwrap();
        let port = line.trim().parse().expect("the port on the first line");
        PythonH2Server { child, port }
    }
}

impl Drop for PythonH2Server {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Python h2 + wsproto (tests-peers/python/install.sh): run scripts/test"]
async fn the_ropeway_http2_client_against_a_python_h2_wsproto_server() {
    bounded_for(PEER_TEST_TIMEOUT, async {
        let server = PythonH2Server::start().await;
        let url = format!("ws://127.0.0.1:{}/ws", server.port);
        let client = H2Client::connect(&url, &ClientConfig::default(), &H2Options::default())
            .await
            .expect("the Python server announces extended CONNECT");
        // Ten WebSockets on the one connection, each echoing every length class.
        let mut tasks = Vec::new();
        for i in 0..10 {
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                let request = ClientRequest::from_url(&format!("ws://127.0.0.1/ws?n={i}"))
                    .unwrap()
                    .protocol("chat");
                let (mut ws, response) = client.websocket_with(&request).await.unwrap();
                assert_eq!(response.status(), 200);
                assert_eq!(response.headers()["sec-websocket-protocol"], "chat");
                assert_echoes(
                    &mut ws,
                    &[0, 1, 125, 126, 65535, 65536, 1 << 20],
                    "python h2",
                )
                .await;
                ws.send(Message::Ping(Bytes::from_static(b"are you there")))
                    .await
                    .unwrap();
                assert_eq!(
                    recv(&mut ws).await,
                    Message::Pong(Bytes::from_static(b"are you there"))
                );
                ws.close(Some(CloseFrame::new(1000, "bye"))).await.unwrap();
                assert_ends_cleanly(&mut ws).await;
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        // The one-shot `connect` picks HTTP/2 against it as well.
        let (mut ws, _) =
            ropeway_tokio::h2::connect(&url, &ClientConfig::default(), &H2Options::default())
                .await
                .unwrap();
        assert_eq!(ws.get_ref().http_version(), Version::HTTP_2);
        assert_echoes(&mut ws, &[3], "python h2 connect").await;
        ws.close(None).await.unwrap();
        assert_ends_cleanly(&mut ws).await;
    })
    .await;
}
