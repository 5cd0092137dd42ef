//! Shared by the fuzz targets: an allocator that measures what a decoder allocates, so a target
//! can assert that memory follows the bytes it was given, not the lengths those bytes claim.
//!
//! A decoded value is bigger in memory than on the wire (a `String` is 24 bytes plus its text,
//! where the wire has a 4-byte length), so the bound is a constant factor of the input, not the
//! input itself. What it catches is the classic bug: trusting a declared count or length and
//! allocating for it before the bytes are there.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Bytes of live allocations a decoder may hold per input byte at its peak.
pub const FACTOR: usize = 16;
/// Fixed allowance for small constant allocations (error values, empty maps' first buckets).
pub const SLACK: usize = 4096;

struct Tracking;

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn grew(n: usize) {
    let _ = ON.try_with(|on| {
        if on.get() {
            let live = LIVE.get() + n as isize;
            LIVE.set(live);
            if live > PEAK.get() {
                PEAK.set(live);
            }
            if n > LARGEST.get() {
                LARGEST.set(n);
            }
        }
    });
}

fn shrank(n: usize) {
    let _ = ON.try_with(|on| {
        if on.get() {
            LIVE.set(LIVE.get() - n as isize);
        }
    });
}

unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            grew(l.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(l) };
        if !p.is_null() {
            grew(l.size());
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        shrank(l.size());
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            shrank(l.size());
            grew(new);
        }
        q
    }
}

#[global_allocator]
static ALLOC: Tracking = Tracking;

/// What `measure` saw: the peak of live bytes allocated inside it, and the largest single
/// allocation.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    pub peak: usize,
    pub largest: usize,
}

/// Runs `f`, counting this thread's allocations (and the result, if it is kept alive).
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Usage) {
    LIVE.set(0);
    PEAK.set(0);
    LARGEST.set(0);
    ON.set(true);
    let r = f();
    ON.set(false);
    let usage = Usage {
        peak: PEAK.get().max(0) as usize,
        largest: LARGEST.get(),
    };
    (r, usage)
}

/// Fails the run if decoding `input_len` bytes took more memory than the bound allows.
pub fn check(what: &str, input_len: usize, u: Usage) {
    let limit = FACTOR * input_len + SLACK;
    assert!(
        u.peak <= limit,
        "{what}: {} input bytes made the decoder hold {} bytes at its peak (largest single \
         allocation {}), over the bound of {limit}",
        input_len,
        u.peak,
        u.largest
    );
}

/// Every opcode ZooKeeper 3.9 defines, plus a few that are not.
pub const OPCODES: &[i32] = &[
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 100, 101, 102,
    103, 104, 105, 106, 107, -10, -11, -1, 999, i32::MIN,
];
