//! Encode once, send to many: a prepared message queued on many connections.

mod support;

use std::sync::Arc;

use ropeway_core::deflate::{DeflateClient, DeflateConfig, DeflateServer};
use ropeway_core::{Bytes, Config, Event, MessageKind, PreparedMessage, Role, SendOptions};

use support::{Pair, Whole, messages};

#[test]
fn every_connection_receives_the_same_prepared_frame_of_any_size() {
    for size in [0, 20, 125, 4095, 8 << 10, 100_000] {
        let payload = Bytes::from(vec![b'x'; size]);
        let prepared = PreparedMessage::new(MessageKind::Binary, payload.clone());
        for _ in 0..3 {
            let mut pair = Pair::new();
            pair.server
                .conn
                .send_prepared(&prepared, SendOptions::default())
                .unwrap();
            pair.flow(Role::Server);
            let got = messages(&pair.client.take_events());
            assert_eq!(got, vec![(false, payload.to_vec())], "{size}");
        }
    }
}

#[test]
fn a_client_masks_a_prepared_message_with_its_own_keys() {
    let prepared = PreparedMessage::new(MessageKind::Text, Bytes::from_static(b"hello"));
    let mut pair = Pair::new();
    pair.client
        .conn
        .send_prepared(&prepared, SendOptions::default())
        .unwrap();
    pair.flow(Role::Client);
    assert_eq!(
        messages(&pair.server.take_events()),
        vec![(true, b"hello".to_vec())]
    );
}

#[test]
fn a_compressing_connection_compresses_a_prepared_message_with_its_own_context() {
    let config = DeflateConfig::default();
    let mut pair = Pair::with_extensions(
        Config::default(),
        Config::default(),
        Box::new(Whole),
        vec![Arc::new(DeflateClient::new(config))],
        vec![Arc::new(DeflateServer::new(config))],
    );
    let text = "the same words, over and over; ".repeat(100);
    let prepared = PreparedMessage::new(MessageKind::Text, Bytes::from(text.clone()));
    for compress in [true, false, true] {
        pair.server
            .conn
            .send_prepared(&prepared, SendOptions { compress })
            .unwrap();
        pair.flow(Role::Server);
        let events = pair.client.take_events();
        assert!(matches!(&events[..], [Event::Data(d)] if d.payload == text.as_bytes()));
    }
}
