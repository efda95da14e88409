//! One thread reading while others write, on one connection: the split halves of the
//! blocking client against a ropeway-tokio echo server.

mod client_common;

use std::thread;
use std::time::Duration;

use client_common::*;
use ropeway_mio::client::{CloseFrame, Message, Reader, Writer};
use ropeway_tokio::server::ServerConfig;

#[test]
fn a_reader_thread_and_a_writer_thread_hammer_one_connection_at_once() {
    bounded(|| {
        let addr = echo_server(ServerConfig::default());
        let (reader, writer) = connect(addr).split();
        hammer(reader, writer, 1, 200);
    });
}

#[test]
fn four_cloned_writers_send_while_one_reader_receives() {
    bounded(|| {
        let addr = echo_server(ServerConfig::default());
        let (reader, writer) = connect(addr).split();
        hammer(reader, writer, 4, 50);
    });
}

#[test]
fn a_reader_blocked_in_recv_does_not_hold_up_the_writer() {
    bounded(|| {
        // The server says nothing until it has ten messages: the reader stays blocked all
        // along, and the sends must go through anyway.
        let addr = serve(ServerConfig::default(), |mut ws| async move {
            for _ in 0..10 {
                ws.recv().await.unwrap().unwrap();
            }
            ws.send(Message::text("got 10")).await.unwrap();
        });
        let (mut reader, writer) = connect(addr).split();
        let receiving = thread::spawn(move || reader.recv().unwrap().unwrap());
        thread::sleep(Duration::from_millis(50));
        for i in 0..10 {
            writer.send(Message::text(format!("{i}"))).unwrap();
        }
        assert_eq!(receiving.join().unwrap(), Message::text("got 10"));
    });
}

#[test]
fn server_pings_are_answered_while_both_halves_are_busy() {
    bounded(|| {
        // The server pings every 20 ms and gives up on an answer after 300 ms; it echoes
        // meanwhile. The client sends and receives for a second.
        let config = ServerConfig {
            core: ropeway_mio::client::Config {
                keep_alive_interval: Some(Duration::from_millis(20)),
                keep_alive_timeout: Some(Duration::from_millis(300)),
                ..Default::default()
            },
            ..ServerConfig::default()
        };
        let addr = echo_server(config);
        let (mut reader, writer) = connect(addr).split();
        let receiving = thread::spawn(move || {
            let mut count = 0;
            while let Some(message) = reader.recv() {
                match message.unwrap() {
                    Message::Text(_) => count += 1,
                    Message::Close(_) => break,
                    _ => {}
                }
            }
            count
        });
        let started = std::time::Instant::now();
        let mut sent = 0;
        while started.elapsed() < Duration::from_secs(1) {
            writer.send(Message::text(text_of_len(1000))).unwrap();
            sent += 1;
            thread::sleep(Duration::from_millis(2));
        }
        writer.close(None).unwrap();
        assert_eq!(receiving.join().unwrap(), sent);
    });
}

#[test]
fn a_writer_close_ends_a_reader_blocked_in_recv() {
    bounded(|| {
        let addr = echo_server(ServerConfig::default());
        let (mut reader, writer) = connect(addr).split();
        let receiving = thread::spawn(move || reader.recv().map(|r| r.map_err(|e| e.to_string())));
        thread::sleep(Duration::from_millis(50));
        writer.close(Some(CloseFrame::new(4000, "bye"))).unwrap();
        let end = receiving.join().unwrap();
        assert!(matches!(end, None | Some(Ok(Message::Close(_)))), "{end:?}");
    });
}

#[test]
fn the_halves_are_send() {
    fn send<T: Send>() {}
    send::<Reader>();
    send::<Writer>();
    send::<ropeway_mio::client::WebSocket>();
}

#[test]
fn a_writer_stuck_on_a_full_socket_does_not_stop_the_reader() {
    use std::io::Write;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    bounded(|| {
        // The server never reads: the client's sends fill the socket buffers and its writer
        // blocks in `write`. Meanwhile the server sends pings and 40 messages, which the
        // reader must receive while the writer is still stuck.
        let addr = raw_server(|mut tcp| {
            accept_raw(&mut tcp);
            for i in 0..40 {
                let _ = tcp.write_all(&server_frame(0x9, true, b"are you there"));
                let _ = tcp.write_all(&server_frame(0x1, true, format!("{i}").as_bytes()));
                thread::sleep(Duration::from_millis(10));
            }
            // Held open well past the client's write timeout (and a loaded machine's delays):
            // the writer must end by its timeout, not by this socket closing.
            thread::sleep(Duration::from_secs(10));
        });
        // Long enough that the 40 messages (400 ms of pacing) come through before it fires
        // on a loaded machine; the writer is blocked by then.
        let options =
            ropeway_mio::client::Options::default().write_timeout(Some(Duration::from_secs(4)));
        let ws = connect_to(addr, &ropeway_mio::client::ClientConfig::default(), options);
        let (mut reader, writer) = ws.split();
        let writer_done = Arc::new(AtomicBool::new(false));
        let done = writer_done.clone();
        let writing = thread::spawn(move || {
            let chunk = Message::binary(bytes_of_len(1 << 20));
            let result = (0..256).find_map(|_| writer.send(chunk.clone()).err());
            done.store(true, Ordering::SeqCst);
            result
        });
        let mut texts = 0;
        while texts < 40 {
            match reader.recv() {
                Some(Ok(Message::Text(text))) => {
                    assert_eq!(text.as_str(), texts.to_string());
                    texts += 1;
                }
                Some(Ok(Message::Ping(_))) => {}
                other => panic!("expected the server's messages, got {other:?}"),
            }
        }
        assert!(
            !writer_done.load(Ordering::SeqCst),
            "the writer was still stuck while all 40 messages came through"
        );
        // The stuck writer ends with the write timeout.
        let error = writing.join().unwrap().expect("the socket buffers fill up");
        assert_eq!(
            ropeway_mio::client::Timeout::of(&error),
            Some(ropeway_mio::client::Timeout::Write),
            "{error}"
        );
    });
}
