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
                a_deflate_bomb_under_the_message_limit_is_refused_with_1009,
            }
            pieces {
                a_1_mib_message_arrives_in_4_kib_pieces_with_one_end_of_message,
                pieces_and_whole_messages_can_alternate_between_messages,
                recv_piece_reports_a_protocol_error,
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
