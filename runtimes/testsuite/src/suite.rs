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
            echo {
                text_and_binary_messages_of_every_length_class_echo_intact,
                many_small_messages_in_flight_arrive_in_order,
                fragmented_messages_arrive_whole,
                a_ping_is_answered_with_a_pong_carrying_its_payload,
                the_server_sees_the_clients_ping_and_the_client_gets_the_pong,
                a_ping_over_125_bytes_is_refused_as_a_usage_error,
                stream_and_sink_carry_messages,
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
