//! The global allocator of every binary linking this crate: the system allocator, with a
//! per-thread meter of live and peak heap bytes, so the harness can hold each input to an
//! allocation budget ("never an allocation larger than the input justifies").
//!
//! Going over the budget is reported by the harness after the run, with the input saved.
//! A single request so large the machine may not have it (over the budget and over
//! `REFUSE_ABOVE`) cannot wait for that: it is refused, which ends the process in
//! `handle_alloc_error`, so the input is written to the dump file the harness opened first.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fs::File;
use std::io::Write;
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::sync::OnceLock;

pub struct MeteredAllocator;

/// Requests up to this are let through even over the budget, to be reported normally.
pub const REFUSE_ABOVE: usize = 1 << 30;

#[global_allocator]
static ALLOCATOR: MeteredAllocator = MeteredAllocator;

struct Meter {
    live: Cell<usize>,
    peak: Cell<usize>,
    /// Budget of the input being run on this thread (`usize::MAX`: not armed).
    budget: Cell<usize>,
    /// The input being run, for the dump on a refused request.
    input: Cell<(*const u8, usize)>,
}

thread_local! {
    // `const` and without `Drop`: reading it never allocates or registers a destructor.
    static METER: Meter = const {
        Meter {
            live: Cell::new(0),
            peak: Cell::new(0),
            budget: Cell::new(usize::MAX),
            input: Cell::new((std::ptr::null(), 0)),
        }
    };
}

/// Where a refused request's input goes (opened by the harness, before any refusal).
static DUMP: OnceLock<File> = OnceLock::new();

pub fn set_dump_file(file: File) {
    let _ = DUMP.set(file);
}

/// Starts metering `input` on this thread; returns the bytes live now, the baseline the
/// peak is measured from.
pub fn arm(input: &[u8], budget: usize) -> usize {
    METER
        .try_with(|m| {
            m.peak.set(m.live.get());
            m.budget.set(budget);
            m.input.set((input.as_ptr(), input.len()));
            m.live.get()
        })
        .unwrap_or(0)
}

/// Stops metering; returns the most bytes live at once since `arm`, beyond those live then.
pub fn disarm(baseline: usize) -> usize {
    METER
        .try_with(|m| {
            m.budget.set(usize::MAX);
            m.input.set((std::ptr::null(), 0));
            m.peak.get().saturating_sub(baseline)
        })
        .unwrap_or(0)
}

fn grew(by: usize) {
    let _ = METER.try_with(|m| {
        let live = m.live.get().saturating_add(by);
        m.live.set(live);
        m.peak.set(m.peak.get().max(live));
    });
}

fn shrank(by: usize) {
    let _ = METER.try_with(|m| m.live.set(m.live.get().saturating_sub(by)));
}

/// Whether a request of `size` bytes is over the armed budget; if so, dumps the input.
fn refused(size: usize) -> bool {
    let over = |m: &Meter| size > m.budget.get() && size > REFUSE_ABOVE;
    // Disarmed at once: what the abort path allocates next must get through.
    let Ok(Some((ptr, len))) = METER.try_with(|m| over(m).then(|| (m.budget.replace(usize::MAX), m.input.get()).1))
    else {
        return false;
    };
    // No allocation from here on: raw writes to the dump file and to fd 2.
    let mut stderr = ManuallyDrop::new(unsafe { File::from_raw_fd(2) });
    let _ = writeln!(stderr, "seq-fuzz: refused a {size}-byte allocation for a {len}-byte input");
    if let (Some(mut dump), false) = (DUMP.get(), ptr.is_null()) {
        // Safety: `arm` stored a live borrow that outlasts the run it meters.
        let input = unsafe { std::slice::from_raw_parts(ptr, len) };
        let _ = dump.write_all(input);
        let _ = writeln!(stderr, "seq-fuzz: the input is in the dump file the harness named above");
    }
    true
}

unsafe impl GlobalAlloc for MeteredAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if refused(layout.size()) {
            return std::ptr::null_mut();
        }
        let ptr = System.alloc(layout);
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if refused(layout.size()) {
            return std::ptr::null_mut();
        }
        let ptr = System.alloc_zeroed(layout);
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if refused(new_size) {
            return std::ptr::null_mut();
        }
        let new = System.realloc(ptr, layout, new_size);
        if !new.is_null() {
            // Counted as both blocks live: a copying realloc holds both for a moment.
            grew(new_size);
            shrank(layout.size());
        }
        new
    }
}
