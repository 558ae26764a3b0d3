//! The progress line, drawn on stderr only when it is a terminal: conversations done of
//! the total, messages, messages per second and the time left at the rate so far.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub struct Progress {
    draw: bool,
    start: Instant,
    last_drawn: Option<Instant>,
    total: usize,
    label: &'static str,
}

impl Progress {
    pub fn new(label: &'static str, total: usize) -> Progress {
        Progress { draw: std::io::stderr().is_terminal(), start: Instant::now(), last_drawn: None, total, label }
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    pub fn update(&mut self, conversations: usize, messages: u64) {
        if !self.draw || self.last_drawn.is_some_and(|t| t.elapsed() < Duration::from_millis(200)) {
            return;
        }
        self.last_drawn = Some(Instant::now());
        let secs = self.start.elapsed().as_secs_f64().max(1e-3);
        let left = self.total.saturating_sub(conversations) as f64;
        let eta = if conversations == 0 { f64::NAN } else { left * secs / conversations as f64 };
        let mut err = std::io::stderr();
        let _ = write!(
            err,
            "\r\x1b[K{}: {conversations}/{} conversations, {messages} messages, {:.0} messages/s, {:.0} conversations/s, ETA {:.0} s",
            self.label,
            self.total,
            messages as f64 / secs,
            conversations as f64 / secs,
            eta
        );
        let _ = err.flush();
    }

    pub fn finish(&mut self) {
        if self.draw && self.last_drawn.is_some() {
            eprint!("\r\x1b[K");
        }
    }
}
