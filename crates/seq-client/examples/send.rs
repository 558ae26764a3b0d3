//! Sends messages to a conversation with the retrying [`Sender`], acknowledging each with
//! `WAIT 1 100` when the server has a replica.
//!
//! `cargo run -p seq-client --example send -- redis://127.0.0.1:6379/ conv:{demo} 10`

use std::time::Duration;

use seq_client::{SendPolicy, Sender, WaitFor};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().unwrap_or_else(|| "redis://127.0.0.1:6379/".to_string());
    let key = args.next().unwrap_or_else(|| "conv:{demo}".to_string());
    let count: u32 = args.next().map(|n| n.parse()).transpose()?.unwrap_or(10);
    let client = redis::Client::open(url)?;
    let mut con = client.get_connection()?;
    let window_ms: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("seq.dedup-window-ms").query(&mut con)?;
    let window = Duration::from_millis(window_ms.get(1).and_then(|v| v.parse().ok()).unwrap_or(86_400_000));
    let replicas: u32 = redis::cmd("INFO")
        .arg("replication")
        .query::<String>(&mut con)?
        .lines()
        .find_map(|l| l.strip_prefix("connected_slaves:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    let mut policy = SendPolicy::new(window);
    if replicas > 0 {
        policy.wait = Some(WaitFor { replicas: 1, timeout: Duration::from_millis(100) });
    }
    let mut sender = Sender::new(client, policy);
    let run = std::process::id();
    for i in 0..count {
        let id = format!("example-{run}-{i}");
        let sent = sender.send(key.as_bytes(), id.as_bytes(), format!("message {i}").as_bytes())?;
        println!("{id} -> seq {} ({} attempts, replicas {:?})", sent.seq, sent.attempts, sent.replicas);
    }
    Ok(())
}
