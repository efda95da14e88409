//! The list of cases, and the macro that makes each a `#[test]` on one runtime.

/// Defines, for runtime `$rt` (a [`TestRuntime`](crate::TestRuntime)), one module per case
/// module and in it one `#[test]` per case, named as the case (`echo::fragmented_messages_…`),
/// each run under [`TEST_TIMEOUT`](crate::support::bounded::TEST_TIMEOUT) or its own limit.
///
/// A case added to [`cases`](crate::cases) is listed here once and then runs on every
/// runtime.
#[macro_export]
macro_rules! suite {
    ($rt:ty) => {
        $crate::__cases! { $rt;
            api_details {
                protocol_and_extensions_are_visible_in_both_roles,
                nothing_agreed_is_none_and_empty,
                try_send_gives_the_message_back_when_full_and_after_the_end,
                write_half_streams_fragments,
                read_half_streams_pieces_then_messages,
                over_limit_is_reported_as_a_limit,
                send_after_the_peer_was_declared_dead_reports_it,
                ws_to_a_tls_port_says_use_wss,
                wss_to_a_plain_port_says_use_ws,
                wss_to_a_ropeway_plain_server_says_use_ws,
            }
            backpressure {
                send_blocks_with_bounded_queued_output_when_the_peer_never_reads,
                write_half_sends_block_instead_of_buffering_when_the_peer_never_reads,
                close_returns_within_the_close_timeout_when_the_peer_never_reads,
                a_peer_that_never_reads_is_dropped_at_the_write_stall_timeout_whatever_it_sends,
            }
            budget {
                a_hundred_quiet_peers_with_half_frames_stay_within_the_memory_budget,
            }
            cancel {
                recv_dropped_by_a_timer_in_a_race_loses_nothing,
                recv_piece_dropped_by_a_timer_in_a_race_loses_nothing,
            }
            close {
                a_client_close_is_echoed_with_its_code_and_reason,
                the_client_sees_the_echo_of_its_close_frame,
                a_server_close_is_answered_by_the_client,
                both_sides_closing_at_once_completes_on_both,
                a_client_that_vanishes_is_an_abnormal_closure_for_the_server,
                a_server_that_vanishes_is_an_abnormal_closure_for_the_client,
                an_unmasked_frame_fails_the_connection_with_1002,
                invalid_utf8_in_a_text_message_fails_with_1007,
                a_message_over_the_limit_is_refused_with_1009,
                an_unanswered_close_ends_after_the_close_timeout,
                a_client_whose_server_keeps_the_tcp_open_ends_after_the_close_timeout,
                a_close_frame_without_a_code_is_echoed_without_one,
                a_raw_client_close_gets_the_same_code_back_and_then_the_end_of_tcp,
                an_upload_over_the_limit_gets_its_1009_close_not_a_reset,
            }
            echo {
                text_and_binary_messages_of_every_length_class_echo_intact,
                many_small_messages_in_flight_arrive_in_order,
                fragmented_messages_arrive_whole,
                a_ping_is_answered_with_a_pong_carrying_its_payload,
                the_server_sees_the_clients_ping_and_the_client_gets_the_pong,
                a_ping_over_125_bytes_is_refused_as_a_usage_error,
                stream_and_sink_carry_messages,
            }
            fairness {
                a_peer_flooding_pongs_does_not_starve_another_connection,
            }
            groups {
                a_group_message_reaches_exactly_its_members_until_they_leave_or_end,
                a_slow_consumer_loses_messages_not_memory_and_the_sender_is_told,
                a_slow_consumer_under_the_close_policy_is_closed_with_its_code,
                groups_and_connections_span_two_registries_over_redis,
                a_slow_member_on_one_server_loses_messages_and_slows_nobody,
            }
            handshake {
                server_chooses_a_subprotocol_and_sees_the_clients_extra_header,
                a_subprotocol_the_client_did_not_offer_is_refused_not_accepted,
                a_client_offering_no_subprotocol_gets_none,
                a_plain_get_is_answered_with_400_by_accept,
                a_wrong_websocket_version_is_answered_with_426_naming_version_13,
                a_request_without_a_key_is_answered_with_400,
                a_forbidden_origin_gets_403_and_never_reaches_the_application,
                a_plain_request_from_any_origin_is_not_refused_with_403,
                an_oversized_request_head_is_answered_with_431,
                a_stalled_request_head_times_out_within_the_handshake_timeout,
                a_server_that_never_answers_times_out_the_client_handshake,
                the_client_reports_a_plain_answer_with_its_status,
                the_client_rejects_a_wrong_accept_key,
                frames_sent_with_the_request_are_not_lost,
                frames_sent_with_the_101_are_not_lost,
                the_server_accepts_a_request_arriving_byte_by_byte,
            }
            hardening {
                a_stream_of_deflate_bombs_is_refused_with_1009_once_the_burst_is_spent,
            }
            keepalive {
                an_idle_connection_receives_pings_at_the_interval,
                the_default_keep_alive_ratio_detects_a_dead_peer_after_interval_plus_timeout,
                an_answering_peer_is_pinged_every_interval_with_the_default_ratio,
                a_peer_that_keeps_answering_stays_connected_past_many_timeouts,
                traffic_from_the_peer_postpones_the_ping,
                a_dead_client_is_detected_within_interval_plus_timeout,
                a_dead_server_is_detected_by_the_clients_keep_alive,
                keep_alive_runs_over_an_in_memory_pipe,
            }
            peers {
                #[ignore = "needs Python websockets: run scripts/test"]
                python_websockets_client_checks_a_ropeway_echo_server within $crate::cases::peers::PEER_TEST_TIMEOUT,
                #[ignore = "needs Python websockets: run scripts/test"]
                a_ropeway_client_echoes_with_a_python_websockets_server within $crate::cases::peers::PEER_TEST_TIMEOUT,
                #[ignore = "needs Python websockets: run scripts/test"]
                a_python_websockets_server_selects_the_offered_subprotocol within $crate::cases::peers::PEER_TEST_TIMEOUT,
                #[ignore = "needs Python websockets: run scripts/test"]
                a_python_websockets_server_that_closes_first_is_answered within $crate::cases::peers::PEER_TEST_TIMEOUT,
                #[ignore = "needs Python websockets: run scripts/test"]
                python_websockets_client_negotiates_compression_with_a_ropeway_server within $crate::cases::peers::PEER_TEST_TIMEOUT,
                #[ignore = "needs Python websockets: run scripts/test"]
                a_ropeway_client_compresses_with_a_python_websockets_server within $crate::cases::peers::PEER_TEST_TIMEOUT,
            }
            pieces {
                a_1_mib_message_arrives_in_4_kib_pieces_with_one_end_of_message,
                pieces_and_whole_messages_can_alternate_between_messages,
                recv_piece_reports_a_protocol_error,
            }
            proxy {
                #[ignore = "needs tinyproxy and microsocks: run scripts/test"]
                ws_through_tinyproxy_echoes,
                #[ignore = "needs tinyproxy and microsocks: run scripts/test"]
                wss_through_tinyproxy_with_basic_auth_echoes,
                #[ignore = "needs tinyproxy and microsocks: run scripts/test"]
                ws_through_tinyproxy_with_basic_auth_echoes,
                #[ignore = "needs tinyproxy and microsocks: run scripts/test"]
                a_wrong_password_gets_407_from_tinyproxy_without_leaking_it,
                #[ignore = "needs tinyproxy and microsocks: run scripts/test"]
                no_credentials_get_407_from_tinyproxy,
                #[ignore = "needs tinyproxy and microsocks: run scripts/test"]
                an_unreachable_target_is_reported_by_tinyproxy_with_its_status,
                #[ignore = "needs tinyproxy and microsocks: run scripts/test"]
                ws_through_microsocks_echoes,
                #[ignore = "needs tinyproxy and microsocks: run scripts/test"]
                wss_through_microsocks_with_a_password_echoes,
                #[ignore = "needs tinyproxy and microsocks: run scripts/test"]
                a_wrong_password_is_rejected_by_microsocks,
                #[ignore = "needs tinyproxy and microsocks: run scripts/test"]
                no_credentials_are_refused_by_microsocks_with_a_password,
                #[ignore = "needs tinyproxy and microsocks: run scripts/test"]
                an_unreachable_target_is_reported_by_microsocks_by_name,
                a_proxy_that_is_down_is_unreachable,
                a_proxy_that_never_answers_times_out_within_the_connect_timeout,
                a_proxy_that_answers_garbage_is_named_at_once,
                a_proxy_that_closes_mid_answer_is_reported_as_closed_early,
                a_fake_connect_proxy_gets_the_target_and_credentials_then_carries_the_websocket,
                bytes_from_the_proxy_before_the_tunnels_tls_are_refused,
                no_proxy_sends_a_matching_host_directly,
                ws_through_an_https_proxy_echoes,
                wss_through_an_https_proxy_is_tls_inside_tls,
                a_fake_socks4a_proxy_gets_the_host_name_then_carries_the_websocket,
            }
            reconnect {
                a_server_restart_close_1012_is_reported_and_the_client_comes_back,
                a_server_that_vanishes_is_an_abnormal_drop_and_the_client_comes_back,
                a_403_answer_stops_the_client_with_the_error,
                a_503_with_retry_after_is_waited_out_before_the_next_attempt,
                send_while_disconnected_gives_the_message_back_and_it_goes_after_the_reconnect,
                refused_connections_are_retried_until_max_attempts,
            }
            shutdown {
                shutdown_sends_1001_to_every_registered_connection_and_waits_for_the_clean_closes,
                a_client_that_never_answers_the_close_is_cut_at_the_shutdown_deadline,
                a_connection_registered_after_the_shutdown_began_is_closed_at_once,
                one_connection_is_closed_by_its_id_and_the_others_stay_open,
            }
            split {
                the_read_half_answers_pings_and_cloned_write_halves_send_from_other_tasks,
                dropping_both_halves_closes_the_connection_with_1000,
                dropping_both_halves_of_an_idle_connection_closes_it_at_once,
                dropping_the_write_half_first_and_the_read_half_later_closes_with_1000,
                a_large_write_half_message_goes_out_while_the_reader_is_behind,
                a_write_half_close_runs_the_close_handshake,
                the_read_half_reports_a_vanished_peer,
            }
            tls {
                a_ropeway_client_echoes_over_wss_with_a_trusted_certificate,
                a_client_that_does_not_trust_the_certificate_fails_with_a_tls_error,
                wss_runs_over_a_stream_the_application_opened,
                a_certificate_for_another_name_is_refused,
            }
        }
    };
}

/// Expands `suite!`'s list: `module { #[attr] case within LIMIT, … } …`.
#[doc(hidden)]
#[macro_export]
macro_rules! __cases {
    ($rt:ty; $(
        $module:ident {
            $( $(#[$attr:meta])* $case:ident $(within $limit:expr)? ),* $(,)?
        }
    )*) => {
        /// The runtime these tests run on.
        type Runtime = $rt;

        /// Every `pub async fn` in `src/cases/` is in the list, so no case is written and
        /// never run.
        #[test]
        fn every_case_is_listed() {
            let listed = [$($(concat!(stringify!($module), "::", stringify!($case))),*),*];
            $crate::suite::assert_lists_every_case(&listed);
        }
        $(
            mod $module {
                $(
                    $(#[$attr])*
                    #[test]
                    fn $case() {
                        $crate::support::bounded::run_for::<super::Runtime, _>(
                            $crate::__cases!(@limit $($limit)?),
                            $crate::cases::$module::$case::<super::Runtime>(),
                        );
                    }
                )*
            }
        )*
    };
    (@limit) => { $crate::support::bounded::TEST_TIMEOUT };
    (@limit $limit:expr) => { $limit };
}

/// Panics unless `listed` (`module::case`) names exactly the cases in `src/cases/`.
#[doc(hidden)]
pub fn assert_lists_every_case(listed: &[&str]) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cases");
    let mut written = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("src/cases") {
        let path = entry.expect("a directory entry").path();
        let module = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("a file name");
        if module == "mod" {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("a case file");
        for (_, rest) in source
            .match_indices("pub async fn ")
            .map(|(i, _)| source.split_at(i + 13))
        {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            written.push(format!("{module}::{name}"));
        }
    }
    let mut listed: Vec<String> = listed.iter().map(|s| s.to_string()).collect();
    written.sort();
    listed.sort();
    assert_eq!(
        written, listed,
        "suite! must list every case in src/cases/, once"
    );
}
