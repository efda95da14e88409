//! A client behind a proxy: an HTTP `CONNECT` or SOCKS5 proxy given on the command line,
//! or the one the environment names (`https_proxy`, `http_proxy`, `all_proxy`, `no_proxy`,
//! as curl reads them).
//!
//! ```sh
//! cargo run -p ropeway-smol --example smol_proxy_client -- ws://host:port/path http://user:pass@proxy:3128
//! cargo run -p ropeway-smol --example smol_proxy_client -- wss://host/path socks5h://127.0.0.1:1080
//! https_proxy=http://proxy:3128 cargo run -p ropeway-smol --example smol_proxy_client -- wss://host/path
//! cargo run -p ropeway-smol --example smol_proxy_client -- --self-test   # in-process proxy and server
//! ```

use ropeway_smol::server::ServerConfig;
use ropeway_smol::{ClientConfig, ClientRequest, Message, Proxy};
use smol::io::{AsyncReadExt, AsyncWriteExt};
use smol::net::{TcpListener, TcpStream};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    smol::block_on(run_main())
}

async fn run_main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match &args[..] {
        [flag] if flag == "--self-test" => self_test().await,
        [url] => run(url, ClientConfig::default().proxy_from_env()).await,
        [url, proxy] => {
            run(
                url,
                ClientConfig::default().with_proxy(Proxy::parse(proxy)?),
            )
            .await
        }
        _ => Err("usage: smol_proxy_client WS-URL [PROXY-URL] | --self-test".into()),
    }
}

/// Connects to `url` as `config` says, sends a message and prints the answer.
async fn run(url: &str, config: ClientConfig) -> Result<(), Box<dyn std::error::Error>> {
    // `{:?}` of the config shows the proxy, never its password.
    println!("connecting to {url} with {:?}", config.proxy);
    let (mut ws, response) = ropeway_smol::connect_with(ClientRequest::from_url(url)?, &config)
        .await
        .map_err(|e| format!("{e}"))?;
    println!("connected: {}", response.status());
    ws.send(Message::text("hello through the proxy")).await?;
    if let Some(reply) = ws.recv().await {
        println!("received: {:?}", reply?);
    }
    ws.close(None).await?;
    Ok(())
}

/// An echo server and a `CONNECT` proxy that wants a password, both in this process; the
/// client connects through the proxy and checks the echo.
async fn self_test() -> Result<(), Box<dyn std::error::Error>> {
    let server = TcpListener::bind("127.0.0.1:0").await?;
    let server_url = format!("ws://{}/echo", server.local_addr()?);
    smol::spawn(async move {
        while let Ok((tcp, _)) = server.accept().await {
            smol::spawn(async move {
                let mut ws =
                    ropeway_smol::server::accept_with_config(tcp, &ServerConfig::default()).await?;
                while let Some(message) = ws.recv().await {
                    let message = message?;
                    if message.is_data() {
                        ws.send(message).await?;
                    }
                }
                Ok::<_, ropeway_smol::Error>(())
            })
            .detach();
        }
    })
    .detach();
    let proxy = TcpListener::bind("127.0.0.1:0").await?;
    let proxy_url = format!("http://demo:pa%24%24word@{}", proxy.local_addr()?);
    smol::spawn(async move {
        while let Ok((client, _)) = proxy.accept().await {
            smol::spawn(tunnel(client)).detach();
        }
    })
    .detach();

    let config = ClientConfig::default().with_proxy(Proxy::parse(&proxy_url)?);
    let (mut ws, _) =
        ropeway_smol::connect_with(ClientRequest::from_url(&server_url)?, &config).await?;
    ws.send(Message::text("hello through the proxy")).await?;
    let echo = ws.recv().await.ok_or("no echo")??;
    assert_eq!(echo.as_text(), Some("hello through the proxy"));
    ws.close(None).await?;

    // The same proxy with a wrong password refuses with 407, and the error says so.
    let wrong = Proxy::parse(&proxy_url)?.with_credentials("demo", "wrong");
    let config = ClientConfig::default().with_proxy(wrong);
    let error = ropeway_smol::connect_with(ClientRequest::from_url(&server_url)?, &config)
        .await
        .err()
        .ok_or("the wrong password was accepted")?;
    assert!(error.to_string().contains("407"), "{error}");
    println!("smol_proxy_client self-test: ok ({error})");
    Ok(())
}

/// A minimal `CONNECT` proxy for one client: checks the Basic credentials (`demo:pa$$word`),
/// connects to the target, answers 200 and copies bytes both ways.
async fn tunnel(mut client: TcpStream) -> std::io::Result<()> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0];
        if client.read(&mut byte).await? == 0 || head.len() > 8192 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let target = head.split(' ').nth(1).unwrap_or_default().to_owned();
    // base64("demo:pa$$word")
    if !head.contains("Proxy-Authorization: Basic ZGVtbzpwYSQkd29yZA==\r\n") {
        let refusal = "HTTP/1.1 407 Proxy Authentication Required\r\n\
                       Proxy-Authenticate: Basic realm=\"demo\"\r\nContent-Length: 0\r\n\r\n";
        return client.write_all(refusal.as_bytes()).await;
    }
    let Ok(server) = TcpStream::connect(&target).await else {
        return client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
    };
    client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await?;
    // smol's streams are handles: a clone reads while the other writes.
    let (to_server, to_client) = (
        smol::io::copy(client.clone(), server.clone()),
        smol::io::copy(server, client),
    );
    smol::future::try_zip(to_server, to_client).await?;
    Ok(())
}
