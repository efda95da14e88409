//! `split_task()` on smol: the task that drives the halves runs on an executor of the
//! application's (a local `smol::Executor`), not on smol's global one. The rest of the
//! split cases run on every runtime in ropeway-testsuite.

use std::time::Duration;

use async_net::{TcpListener, TcpStream};
use futures_lite::future;
use ropeway_smol::server::{ServerConfig, accept_with_config};
use ropeway_smol::{Message, WebSocket};

/// The longest the test body may run.
const TEST_TIMEOUT: Duration = Duration::from_secs(20);

#[test]
fn split_task_drives_the_halves_on_an_executor_of_the_applications() {
    let body = async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local_addr");
        let server = async move {
            let (tcp, _) = listener.accept().await.expect("accept");
            let ws: WebSocket<TcpStream> = accept_with_config(tcp, &ServerConfig::default())
                .await
                .expect("server handshake");
            let (mut reader, writer, task) = ws.split_task();
            let executor = smol::Executor::new();
            executor
                .run(async {
                    executor.spawn(task).detach();
                    let message = reader.recv().await.unwrap().unwrap();
                    writer.send(message).await.unwrap();
                    reader.recv().await
                })
                .await
        };
        let client = async move {
            let (mut ws, _) = ropeway_smol::connect(&format!("ws://{addr}/"))
                .await
                .expect("client handshake");
            ws.send(Message::text("local")).await.unwrap();
            let echoed = ws.recv().await.expect("a message").expect("no error");
            assert_eq!(echoed, Message::text("local"));
            ws.close(None).await.unwrap();
        };
        // Both on this thread: the server's executor is driven as one future of the two.
        let (seen, ()) = future::zip(server, client).await;
        assert!(matches!(seen, Some(Ok(Message::Close(None)))), "{seen:?}");
    };
    let timed_out = async {
        async_io::Timer::after(TEST_TIMEOUT).await;
        panic!("test body took longer than {TEST_TIMEOUT:?}");
    };
    smol::block_on(future::or(body, timed_out));
}
