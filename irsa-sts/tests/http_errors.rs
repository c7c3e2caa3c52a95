//! The bounded GET of `irsa_sts::http` (probe, doctor) says what happened to the connection in
//! one line, and stops an endless body at its cap.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use irsa_sts::http::{GetOptions, get};

fn options() -> GetOptions {
    GetOptions {
        timeout: Duration::from_secs(5),
        max_body: 1024,
        user_agent: "http-errors-test",
    }
}

fn block_on<T>(future: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

#[test]
fn a_refused_connection_reads_as_such() {
    let error = block_on(get("http://127.0.0.1:9/x", &[], &options())).unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot connect for GET http://127.0.0.1:9/x: connection refused"
    );
}

#[test]
fn an_unknown_host_is_one_short_line() {
    let url = "http://sts.no-such-host.invalid/x";
    let said = block_on(get(url, &[], &options())).unwrap_err().to_string();
    // `.invalid` never resolves (RFC 6761); a machine without DNS fails the lookup otherwise.
    assert!(
        said == format!("cannot connect for GET {url}: no such host")
            || (said.starts_with(&format!("cannot connect for GET {url}: "))
                && said.len() < 300
                && !said.contains('\n')),
        "{said}"
    );
}

#[test]
fn an_endless_body_stops_at_the_cap() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/x", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0; 1024];
        let _ = stream.read(&mut request);
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
        let chunk = format!("{:x}\r\n{}\r\n", 4096, " ".repeat(4096));
        while stream.write_all(chunk.as_bytes()).is_ok() {}
    });
    let error = block_on(get(&url, &[], &options())).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("{url} sent more than 1024 bytes")
    );
}
