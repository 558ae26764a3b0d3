//! Follows a conversation with a [`Receiver`]: subscribes to `seq.alloc` keyevents (it
//! turns them on with `CONFIG SET notify-keyspace-events Ed`), pulls on each event for
//! this key and on a timer, and prints every entry once, in order.
//!
//! `cargo run -p seq-client --example receive -- redis://127.0.0.1:6379/ conv:{demo} 30`
//! (follows for 30 seconds; start `send` meanwhile).

use std::sync::atomic::AtomicBool;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use seq_client::notifier::{self, Notice};
use seq_client::{drive, Action, Receiver, ReceiverConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().unwrap_or_else(|| "redis://127.0.0.1:6379/".to_string());
    let key = args.next().unwrap_or_else(|| "conv:{demo}".to_string());
    let seconds: u64 = args.next().map(|n| n.parse()).transpose()?.unwrap_or(30);
    let client = redis::Client::open(url)?;
    let mut con = client.get_connection()?;
    let _: () = redis::cmd("CONFIG").arg("SET").arg("notify-keyspace-events").arg("Ed").query(&mut con)?;

    let (tx, rx_events) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let watchers = notifier::watch_masters(vec![client.clone()], tx, stop.clone(), Duration::from_millis(200));

    let mut receiver = Receiver::new(ReceiverConfig::default());
    let mut print = |action: Action| {
        if let Action::Deliver(entries) = action {
            for e in entries {
                println!("{} {} {}", e.seq, String::from_utf8_lossy(&e.id), String::from_utf8_lossy(&e.payload));
            }
        }
    };
    let until = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < until {
        let actions = match rx_events.recv_timeout(Duration::from_secs(1)) {
            // Subscribed (again): events may have been missed; catch up.
            Ok(Notice::Subscribed(_)) => {
                let lasts = notifier::catch_up(&mut con, &[key.as_bytes()])?;
                receiver.told_last(lasts.first().copied().unwrap_or(0))
            }
            Ok(Notice::Appended(k)) if k == key.as_bytes() => receiver.tick(),
            Ok(Notice::Appended(_)) => continue,
            // The timer: a lost event at the tail is found here.
            Err(_) => receiver.tick(),
        };
        drive(&mut con, key.as_bytes(), &mut receiver, actions, &mut print)?;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in watchers {
        let _ = w.join();
    }
    Ok(())
}
