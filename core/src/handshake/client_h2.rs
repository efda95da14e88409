//! The client side of an HTTP/2 extended CONNECT (RFC 8441 §4, §5): the request to send on a
//! new stream, and the check of the server's answer. The HTTP/2 layer (framing, SETTINGS,
//! the `:protocol` pseudo-header) belongs to the adapter; what is asked and what is accepted
//! is decided here, with the same subprotocol and extension rules as over HTTP/1.1.

use std::sync::Arc;

use http::header::{SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION};
use http::{HeaderValue, Method, Request, Response, Uri, Version};

use super::client::{ClientAccepted, ClientRequest, negotiated};
use super::error::HandshakeError;
use crate::extension::ClientExtension;

/// The `:protocol` value of a WebSocket extended CONNECT.
pub const WEBSOCKET_PROTOCOL: &str = "websocket";

/// A client's extended CONNECT in progress: built with [`ExtendedConnect::new`], which also
/// returns the request for the adapter to send (with `:protocol` set to
/// [`WEBSOCKET_PROTOCOL`]); the answer is checked with [`ExtendedConnect::recv_response`].
pub struct ExtendedConnect {
    protocols: Vec<String>,
    extensions: Vec<Arc<dyn ClientExtension>>,
}

impl std::fmt::Debug for ExtendedConnect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExtendedConnect")
            .field("protocols", &self.protocols)
            .finish_non_exhaustive()
    }
}

impl ExtendedConnect {
    /// The CONNECT request for `request` (`:method CONNECT`, `:scheme` http or https,
    /// `:authority`, `:path`, version 13, the offered subprotocols and extensions, the extra
    /// headers), offering `extensions`. No key: RFC 8441 §5 drops `Sec-WebSocket-Key`.
    pub fn new(
        request: &ClientRequest,
        extensions: Vec<Arc<dyn ClientExtension>>,
    ) -> Result<(Self, Request<()>), HandshakeError> {
        let scheme = if request.is_secure() { "https" } else { "http" };
        let uri: Uri = format!("{scheme}://{}{}", request.authority(), request.resource())
            .parse()
            .map_err(|_| HandshakeError::InvalidUrl(request.resource().to_owned()))?;
        let mut head = Request::new(());
        *head.method_mut() = Method::CONNECT;
        *head.uri_mut() = uri;
        *head.version_mut() = Version::HTTP_2;
        let headers = head.headers_mut();
        headers.insert(
            SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static(super::WEBSOCKET_VERSION),
        );
        if !request.protocols().is_empty() {
            let list = request.protocols().join(", ");
            let value = HeaderValue::from_str(&list)
                .map_err(|_| HandshakeError::InvalidUrl(format!("subprotocols {list:?}")))?;
            headers.insert(SEC_WEBSOCKET_PROTOCOL, value);
        }
        let offers: Vec<String> = extensions
            .iter()
            .flat_map(|e| e.offers())
            .map(|o| o.to_string())
            .collect();
        if !offers.is_empty() {
            let value = HeaderValue::from_str(&offers.join(", "))
                .map_err(|_| HandshakeError::InvalidExtensionHeader)?;
            headers.insert(SEC_WEBSOCKET_EXTENSIONS, value);
        }
        for (name, value) in request.headers() {
            headers.append(name, value.clone());
        }
        let connect = ExtendedConnect {
            protocols: request.protocols().to_vec(),
            extensions,
        };
        Ok((connect, head))
    }

    /// Input: the server's answer. Any 2xx accepts (RFC 9110 §9.3.6: a successful CONNECT;
    /// RFC 8441 §5 has servers send 200); anything else is [`HandshakeError::Rejected`] with
    /// its status and headers. The chosen subprotocol must have been offered, and the
    /// extension answers must fit the offers.
    pub fn recv_response(&self, response: Response<()>) -> Result<ClientAccepted, HandshakeError> {
        let (parts, ()) = response.into_parts();
        if !parts.status.is_success() {
            return Err(HandshakeError::Rejected {
                status: parts.status,
                headers: Box::new(parts.headers),
            });
        }
        let (protocol, extension) = negotiated(&self.protocols, &self.extensions, &parts.headers)?;
        Ok(ClientAccepted {
            response: Response::from_parts(parts, ()),
            protocol,
            extension,
        })
    }
}
