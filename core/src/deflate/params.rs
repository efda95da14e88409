//! The four parameters of RFC 7692 §7.1: parsing them from an offer or an answer, and
//! writing them back.

use crate::extension::ExtensionOffer;

/// The registered extension name.
pub const NAME: &str = "permessage-deflate";

/// The parameters of one offer or answer, as written on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Params {
    /// `server_no_context_takeover`.
    pub server_no_context_takeover: bool,
    /// `client_no_context_takeover`.
    pub client_no_context_takeover: bool,
    /// `server_max_window_bits=N`.
    pub server_max_window_bits: Option<u8>,
    /// `client_max_window_bits` (`Some(None)`: present without a value, offers only).
    pub client_max_window_bits: Option<Option<u8>>,
}

impl Params {
    /// Parses an offer (`is_answer = false`) or an answer. Unknown or repeated parameters,
    /// missing or out-of-range values are errors (RFC 7692 §5, §7.1).
    pub fn parse(offer: &ExtensionOffer, is_answer: bool) -> Result<Params, String> {
        let mut params = Params::default();
        let mut seen: Vec<&str> = Vec::new();
        for (name, value) in &offer.params {
            if seen.contains(&name.as_str()) {
                return Err(format!("{name} given twice"));
            }
            seen.push(name);
            match name.as_str() {
                "server_no_context_takeover" => {
                    no_value(name, value)?;
                    params.server_no_context_takeover = true;
                }
                "client_no_context_takeover" => {
                    no_value(name, value)?;
                    params.client_no_context_takeover = true;
                }
                "server_max_window_bits" => {
                    let value = value.as_deref().ok_or(format!("{name} needs a value"))?;
                    params.server_max_window_bits = Some(window_bits(name, value)?);
                }
                "client_max_window_bits" => {
                    params.client_max_window_bits = Some(match value {
                        Some(v) => Some(window_bits(name, v)?),
                        None if is_answer => return Err(format!("{name} needs a value")),
                        None => None,
                    });
                }
                other => return Err(format!("unknown parameter {other}")),
            }
        }
        Ok(params)
    }

    /// The offer or answer these parameters make.
    pub fn to_offer(self) -> ExtensionOffer {
        let mut offer = ExtensionOffer::new(NAME);
        if self.server_no_context_takeover {
            offer = offer.param("server_no_context_takeover", None);
        }
        if self.client_no_context_takeover {
            offer = offer.param("client_no_context_takeover", None);
        }
        if let Some(bits) = self.server_max_window_bits {
            offer = offer.param("server_max_window_bits", Some(bits.to_string()));
        }
        if let Some(bits) = self.client_max_window_bits {
            offer = offer.param("client_max_window_bits", bits.map(|b| b.to_string()));
        }
        offer
    }
}

fn no_value(name: &str, value: &Option<String>) -> Result<(), String> {
    match value {
        None => Ok(()),
        Some(_) => Err(format!("{name} takes no value")),
    }
}

/// A window size: a decimal 8 to 15, without sign or leading zeros.
fn window_bits(name: &str, value: &str) -> Result<u8, String> {
    match value {
        "8" | "9" | "10" | "11" | "12" | "13" | "14" | "15" => {
            value.parse().map_err(|_| format!("{name}={value}"))
        }
        _ => Err(format!("{name}={value} is not 8 to 15")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extension::parse_extensions;

    fn parse(header: &str, is_answer: bool) -> Result<Params, String> {
        Params::parse(&parse_extensions(header).unwrap()[0], is_answer)
    }

    #[test]
    fn parses_every_parameter() {
        let p = parse(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits",
            false,
        )
        .unwrap();
        assert!(p.server_no_context_takeover && p.client_no_context_takeover);
        assert_eq!(p.server_max_window_bits, Some(10));
        assert_eq!(p.client_max_window_bits, Some(None));
        assert_eq!(parse(&p.to_offer().to_string(), false), Ok(p));
    }

    #[test]
    fn rejects_malformed_parameters() {
        for bad in [
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=010",
            "permessage-deflate; client_max_window_bits=abc",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; mystery",
        ] {
            assert!(parse(bad, false).is_err(), "{bad}");
        }
        assert!(parse("permessage-deflate; client_max_window_bits", true).is_err());
        assert_eq!(
            parse("permessage-deflate; client_max_window_bits=\"9\"", true)
                .unwrap()
                .client_max_window_bits,
            Some(Some(9))
        );
    }
}
