//! A source that does not answer as it should, for the fault drill «a source that hangs or
//! trickles»: on `GET /hang` it reads the request and never answers; on `GET /trickle` it
//! answers 200 with a `Content-Length` of a megabyte and then sends one byte a second. Plain
//! TCP, so nothing in between buffers or times out on its behalf.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub async fn serve(addr: &str) {
    let listener = TcpListener::bind(addr).await.expect("bind");
    loop {
        let (socket, _) = listener.accept().await.expect("accept");
        tokio::spawn(answer(socket));
    }
}

async fn answer(mut socket: TcpStream) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    if head.starts_with(b"GET /trickle") {
        let status = b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: 1048576\r\n\r\n";
        if socket.write_all(status).await.is_err() {
            return;
        }
        loop {
            if socket.write_all(b"x").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    // `/hang` and anything else: keep the connection open and say nothing until the client leaves.
    while let Ok(n) = socket.read(&mut buf).await {
        if n == 0 {
            return;
        }
    }
}
