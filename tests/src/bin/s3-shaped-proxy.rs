//! s3-shaped-proxy: the tests' proxy in front of a local S3 server, every client connection
//! shaped like one to S3, for scripts/bench.
//!
//!   s3-shaped-proxy --upstream 127.0.0.1:PORT [--mb-per-second 85] [--first-byte-ms 100]
//!
//! Prints its endpoint (http://127.0.0.1:PORT) on stdout, then serves until killed, or
//! until --exit-after seconds (7200) have passed. Each flag also reads an environment
//! variable: SHAPE_UPSTREAM, SHAPE_MB_PER_SECOND, SHAPE_FIRST_BYTE_MS, SHAPE_EXIT_AFTER.
//!
//! The defaults are the figures in the Amazon S3 User Guide: "Performance guidelines for
//! Amazon S3" sizes connections at one concurrent request per 85-90 MB/s of throughput;
//! "Performance design patterns for Amazon S3" gives first-byte-out latencies of roughly
//! 100-200 ms. The lower end of both (MB = 10^6 bytes).

use std::time::Duration;

use relsign_tests::proxy::{Fault, Proxy, Shape};

fn main() {
    let mut args = std::env::args().skip(1);
    let env = |var: &str, default: &str| std::env::var(var).unwrap_or_else(|_| default.to_string());
    let (mut upstream, mut rate, mut first_byte, mut exit_after) = (
        std::env::var("SHAPE_UPSTREAM").ok(),
        env("SHAPE_MB_PER_SECOND", "85"),
        env("SHAPE_FIRST_BYTE_MS", "100"),
        env("SHAPE_EXIT_AFTER", "7200"),
    );
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--upstream" => upstream = Some(value),
            "--mb-per-second" => rate = value,
            "--first-byte-ms" => first_byte = value,
            "--exit-after" => exit_after = value,
            _ => usage(&format!("unknown flag {flag}")),
        }
    }
    let upstream = upstream.unwrap_or_else(|| usage("--upstream HOST:PORT is needed"));
    let number = |name: &str, v: &str| -> f64 {
        v.parse()
            .ok()
            .filter(|n: &f64| *n >= 0.0)
            .unwrap_or_else(|| usage(&format!("{name} {v:?} is not a number")))
    };
    let shape = Shape {
        bytes_per_second: (number("--mb-per-second", &rate) * 1e6) as u64,
        first_byte: Duration::from_secs_f64(number("--first-byte-ms", &first_byte) / 1000.0),
    };
    let proxy = Proxy::start_shaped(&upstream, Some(shape), |_, _| Fault::Pass);
    println!("{}", proxy.endpoint);
    eprintln!(
        "s3-shaped-proxy: {} -> {upstream}, {rate} MB/s per connection, {first_byte} ms to first byte",
        proxy.endpoint
    );
    std::thread::sleep(Duration::from_secs_f64(number("--exit-after", &exit_after)));
}

fn usage(why: &str) -> ! {
    eprintln!("s3-shaped-proxy: {why}; usage: s3-shaped-proxy --upstream HOST:PORT [--mb-per-second N] [--first-byte-ms N] [--exit-after SECONDS]");
    std::process::exit(2);
}
