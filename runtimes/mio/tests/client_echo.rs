//! The blocking client against a ropeway-tokio echo server over loopback: every length
//! class, both message types, the close handshake both ways.

mod client_common;

use client_common::*;
use ropeway_mio::client::{CloseFrame, Error, Message, State};
use ropeway_tokio::server::ServerConfig;

#[test]
fn every_length_class_echoes_as_text_and_binary() {
    bounded(|| {
        let addr = echo_server(ServerConfig::default());
        let mut ws = connect(addr);
        assert_echoes(&mut ws, &LENGTHS);
        ws.close(Some(CloseFrame::new(1000, "done"))).unwrap();
        assert!(ws.recv().is_none());
        assert_eq!(ws.state(), State::Closed);
    });
}

#[test]
fn a_client_close_reaches_the_server_with_its_code_and_reason() {
    bounded(|| {
        let (seen_tx, seen) = std::sync::mpsc::channel();
        let addr = serve(ServerConfig::default(), move |mut ws| {
            let seen_tx = seen_tx.clone();
            async move {
                while let Some(Ok(message)) = ws.recv().await {
                    if let Message::Close(frame) = message {
                        let _ = seen_tx.send(frame);
                    }
                }
            }
        });
        let mut ws = connect(addr);
        ws.close(Some(CloseFrame::new(4000, "bye"))).unwrap();
        assert_eq!(seen.recv().unwrap(), Some(CloseFrame::new(4000, "bye")));
        // Closed: nothing more can be sent.
        assert!(matches!(ws.send(Message::text("late")), Err(Error::Closed)));
    });
}

#[test]
fn a_server_close_is_answered_and_ends_the_client_cleanly() {
    bounded(|| {
        let addr = serve(ServerConfig::default(), |mut ws| async move {
            ws.send(Message::text("before close")).await.unwrap();
            ws.close(Some(CloseFrame::new(1001, "going away")))
                .await
                .unwrap();
        });
        let mut ws = connect(addr);
        assert_eq!(recv(&mut ws), Message::text("before close"));
        assert_eq!(
            recv(&mut ws),
            Message::Close(Some(CloseFrame::new(1001, "going away")))
        );
        assert!(ws.recv().is_none(), "the end after the close");
        assert!(matches!(ws.send(Message::text("late")), Err(Error::Closed)));
    });
}

#[test]
fn a_server_that_vanishes_is_an_abnormal_closure() {
    bounded(|| {
        let addr = raw_server(|mut tcp| {
            accept_raw(&mut tcp);
            tcp.write_all(&server_frame(0x1, true, b"hi")).unwrap();
            // Gone without a close frame.
        });
        let mut ws = connect(addr);
        assert_eq!(recv(&mut ws), Message::text("hi"));
        match ws.recv() {
            Some(Err(Error::Connection(e))) => {
                assert_eq!(e, ropeway_mio::client::ConnectionError::Abnormal)
            }
            other => panic!("expected an abnormal closure, got {other:?}"),
        }
        assert!(ws.recv().is_none());
    });
}

#[test]
fn the_client_iterates_over_messages_until_the_close() {
    bounded(|| {
        let addr = serve(ServerConfig::default(), |mut ws| async move {
            for i in 0..3 {
                ws.send(Message::text(format!("m{i}"))).await.unwrap();
            }
            ws.close(None).await.unwrap();
        });
        let ws = connect(addr);
        let texts: Vec<Message> = ws.map(Result::unwrap).filter(Message::is_data).collect();
        assert_eq!(
            texts,
            vec![
                Message::text("m0"),
                Message::text("m1"),
                Message::text("m2")
            ]
        );
    });
}

use std::io::Write;

#[test]
fn dropping_the_client_closes_the_connection_normally() {
    bounded(|| {
        let (seen_tx, seen) = std::sync::mpsc::channel();
        let addr = serve(ServerConfig::default(), move |mut ws| {
            let seen_tx = seen_tx.clone();
            async move {
                while let Some(Ok(message)) = ws.recv().await {
                    if let Message::Close(frame) = message {
                        let _ = seen_tx.send(frame);
                    }
                }
            }
        });
        let mut ws = connect(addr);
        ws.send(Message::text("about to go")).unwrap();
        drop(ws);
        let frame = seen.recv().unwrap().expect("a close frame with a code");
        assert_eq!(frame.code.0, 1000);
    });
}
