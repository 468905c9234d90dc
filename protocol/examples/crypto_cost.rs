//! What chat's cryptography costs on this machine, per operation: the
//! least any server speaking the protocol pays per delivery (one seal per
//! recipient) and per join (the handshake's X25519). docs/performance.md
//! reads chatd's figures against these.
//!
//! ```sh
//! cargo run --release -p chat-protocol --example crypto_cost [-- ROUNDS]
//! ```
//!
//! Single-threaded; run it on a quiet machine (or pinned: `taskset -c 0`).

use std::hint::black_box;
use std::time::Instant;

use chat_protocol::handshake::{ClientHandshake, ServerHandshake};
use chat_protocol::seal::Sealer;
use chat_protocol::token::{JoinKey, KeyId, ServerIdentity, Token};

fn main() {
    let rounds: u32 = match std::env::args().nth(1).map(|a| a.parse()) {
        None => 200_000,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("usage: crypto_cost [ROUNDS] (a positive number, default 200000)");
            std::process::exit(2);
        }
    };
    println!("chat-protocol crypto costs, {rounds} rounds each (ns per operation)");
    println!("{:<52} {:>9} {:>10}", "operation", "ns", "MB/s");
    // A chat-bench message event is about 200 bytes of JSON; a Welcome
    // frame at most 16 KiB.
    for size in [100, 200, 1000, 16 * 1024] {
        let plain = vec![b'x'; size];
        let mut sealer = Sealer::new(&[7; 32], 0);
        // At most 512 MiB sealed per row.
        let most = u32::try_from((512usize << 20) / size).unwrap_or(u32::MAX);
        let n = rounds.min(most).max(1000);
        let ns = per_op(n, || {
            black_box(sealer.seal(black_box(&plain)).expect("fresh counter"));
        });
        report(
            &format!("seal {size} B, key schedule kept (a batch)"),
            ns,
            size,
        );
        let mut sealer = Sealer::new(&[7; 32], 0);
        let ns = per_op(n, || {
            sealer.rest();
            black_box(sealer.seal(black_box(&plain)).expect("fresh counter"));
        });
        report(
            &format!("seal {size} B, key schedule made again (one event)"),
            ns,
            size,
        );
    }
    let identity = ServerIdentity::from_secret_bytes(&[0x20; 32]);
    let token = Token {
        join_key: JoinKey([1; 32]),
        server_public: identity.public(),
    };
    let lookup = |id: &KeyId| (*id == token.key_id()).then(|| token.join_key.clone());
    let joins = (rounds / 20).max(500);
    let hellos: Vec<_> = (0..joins).map(|_| ClientHandshake::new(&token)).collect();
    let server = ServerHandshake::new(&identity);
    let mut hellos = hellos.into_iter();
    let ns = per_op(joins, || {
        let client = hellos.next().expect("one hello a round");
        black_box(server.respond(client.hello(), lookup).expect("valid hello"));
    });
    report("handshake, the server's side (2 X25519 + keygen)", ns, 0);
    let ns = per_op(joins, || {
        let client = ClientHandshake::new(&token);
        let answer = server.respond(client.hello(), lookup).expect("valid hello");
        black_box(
            client
                .on_challenge(&answer.challenge)
                .expect("valid challenge"),
        );
    });
    report("handshake, both sides", ns, 0);
}

/// Nanoseconds per call of `op`, over `n` calls.
fn per_op(n: u32, mut op: impl FnMut()) -> f64 {
    let started = Instant::now();
    for _ in 0..n {
        op();
    }
    started.elapsed().as_nanos() as f64 / f64::from(n)
}

fn report(what: &str, ns: f64, bytes: usize) {
    if bytes == 0 {
        println!("{what:<52} {ns:>9.0} {:>10}", "-");
    } else {
        println!("{what:<52} {ns:>9.0} {:>10.0}", bytes as f64 * 1e3 / ns);
    }
}
